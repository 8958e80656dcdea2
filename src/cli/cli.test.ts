/**
 * The CLI against a running server: discovery of command files, the thin REST calls with `--json` and tables, and
 * failures as one line on stderr with exit code 1 (unknown id, unreachable server, no API key).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestApp, type TestApp } from '../../test/support/app.ts';
import { tempDir } from '../../test/support/database.ts';
import { buildProgram, launchFlags } from './main.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const run = promisify(execFile);
let app: TestApp;

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd: tempDir(), timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

test('command files are discovered and each group is registered', async () => {
  const program = await buildProgram();
  const names = program.commands.map((c) => c.name());
  for (const name of ['start', 'orgs', 'keys']) assert.ok(names.includes(name), name);
  const keys = program.commands.find((c) => c.name() === 'keys')!;
  assert.deepEqual(keys.commands.map((c) => c.name()).sort(), ['create', 'list', 'revoke', 'rotate', 'versions']);
  for (const sub of keys.commands) assert.ok(sub.options.some((o) => o.long === '--json'), `keys ${sub.name()} takes --json`);
});

test('a typed command loads only its own file; aliases, help and typos load every command', async () => {
  const all = (await buildProgram()).commands.map((c) => c.name()).sort();
  assert.deepEqual((await buildProgram('start')).commands.map((c) => c.name()), ['start']);
  assert.deepEqual((await buildProgram('keys')).commands.map((c) => c.name()), ['keys']);
  for (const typed of ['instances', 'strat', 'help', '../start']) {
    assert.deepEqual((await buildProgram(typed)).commands.map((c) => c.name()).sort(), all, `"${typed}" loads every command`);
  }
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  for (const name of all) assert.match(help.stdout, new RegExp(`\\b${name}\\b`), `--help lists ${name}`);
  const typo = await cli(['strat']);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /unknown command 'strat'[\s\S]*Did you mean start\?/);
});

test('orgs create and keys create print the secrets once; --json prints the API answer', async () => {
  const env = { PLUGBOARD_URL: app.url, PLUGBOARD_API_KEY: app.apiKey };
  const created = await cli(['orgs', 'create', 'Cli Org', '--json'], env);
  assert.equal(created.code, 0, created.stderr);
  const body = JSON.parse(created.stdout);
  assert.equal(body.organization.name, 'Cli Org');
  assert.match(body.apiKey.secret, /^pb_/);
  const key = await cli(['keys', 'create', 'from-cli', '--permissions', 'instances:read'], env);
  assert.equal(key.code, 0, key.stderr);
  assert.match(key.stdout, /Created API key from-cli .* with instances:read\. Shown only this once:\n {2}pb_/);
  const list = await cli(['keys', 'list', '--url', app.url, '--api-key', app.apiKey]);
  assert.match(list.stdout, /^id\s+name\s+prefix/);
  assert.match(list.stdout, /from-cli/);
  assert.doesNotMatch(list.stdout, /pb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/, 'listings never show a secret');
});

test('failures are one line on stderr with exit code 1', async () => {
  const unknown = await cli(['keys', 'revoke', 'no-such-key', '--url', app.url, '--api-key', app.apiKey]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^plugboard: HTTP 404 NOT_FOUND: No API key no-such-key \(request [\w-]+\)\n$/);
  const noKey = await cli(['keys', 'list', '--url', app.url]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /No API key: pass --api-key, set PLUGBOARD_API_KEY/);
  const down = await cli(['orgs', 'list', '--url', 'http://127.0.0.1:9', '--api-key', app.apiKey]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach Plugboard at http:\/\/127\.0\.0\.1:9/);
  assert.doesNotMatch(unknown.stderr + noKey.stderr + down.stderr, /\n\s+at /);
});

test('npm start runs Node with the flags of the plugboard command (its first line), which the erasure bench uses too', () => {
  const flags = launchFlags();
  assert.ok(flags.length > 0 && flags.every((flag) => flag.startsWith('--')), flags.join(' '));
  const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start;
  assert.equal(start, `node ${flags.join(' ')} src/cli/main.ts start`);
});

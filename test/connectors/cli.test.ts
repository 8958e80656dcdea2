/**
 * `plugboard connectors`: offline validation with located problems and exit status, and deploy/list/show/oauth-app
 * against a running test app, in text and `--json`, run as the real command in a child process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp, type TestApp } from '../support/app.ts';
import { getOAuthApp } from '../../src/connectors/resolve.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const GOOD = `key: cli-acme
name: CLI Acme
baseUrl: https://api.acme.example
auth: { type: custom, apply: { in: header, name: X-Api-Key } }
`;

const COMMAND = new URL('../../src/cli/commands/connectors.ts', import.meta.url).href;

/**
 * Runs `plugboard <args>` in a child process. Only the connectors command group is loaded (the real entry point loads
 * every group, the server included, which is slow on a shared machine); one test goes through `main.ts` itself.
 */
function run(args: string[], env: Record<string, string> = {}, viaMain = false): Promise<{ code: number; out: string; err: string }> {
  const script = [
    "import { Command } from 'commander';",
    `import { register } from ${JSON.stringify(COMMAND)};`,
    "const program = new Command('plugboard').exitOverride();",
    'register(program);',
    `try { await program.parseAsync(${JSON.stringify(args)}, { from: 'user' }); } catch (error) { process.exitCode = error.exitCode ?? 1; }`,
  ].join('\n');
  const argv = viaMain ? [MAIN, ...args] : ['--input-type=module', '-e', script];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, argv, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, out: stdout, err: stderr });
    });
    child.stdin?.end();
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pb-cli-connectors-'));
  await writeFile(join(dir, 'good.yaml'), GOOD);
  await writeFile(join(dir, 'bad.yaml'), GOOD.replace('baseUrl: https://api.acme.example', 'baseUrl: ftp://acme.example'));
  await writeFile(join(dir, 'badflow.yaml'), `${GOOD}flows:\n  - name: ping\n    kind: action\n    cards:\n      - { type: return, values: { x: { $ref: nothing.here } } }\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('connectors validate (offline)', () => {
  test('a good file passes with exit status 0 (through the real entry point)', async () => {
    const res = await run(['connectors', 'validate', join(dir, 'good.yaml')], {}, true);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /^ok +.*good\.yaml: cli-acme \(CLI Acme\)/);
  });

  test('a bad file prints file:line:column path and exits 1', async () => {
    const res = await run(['connectors', 'validate', join(dir, 'good.yaml'), join(dir, 'bad.yaml')]);
    assert.equal(res.code, 1);
    assert.match(res.out, /FAIL .*bad\.yaml: 1 problem/);
    assert.match(res.out, /bad\.yaml:3:10 baseUrl: expected an absolute http\(s\) URL/);
  });

  test('a flow that does not compile is reported by flow and card', async () => {
    const res = await run(['connectors', 'validate', '--json', join(dir, 'badflow.yaml')]);
    assert.equal(res.code, 1);
    const body = JSON.parse(res.out) as { files: Array<{ ok: boolean; problems: Array<{ path: string; message: string }> }> };
    assert.equal(body.files[0].ok, false);
    assert.match(body.files[0].problems[0].message, /nothing/);
  });

  test('a missing file is a problem, not a stack trace', async () => {
    const res = await run(['connectors', 'validate', join(dir, 'missing.yaml')]);
    assert.equal(res.code, 1);
    assert.match(res.out, /cannot read the file \(ENOENT\)/);
    assert.doesNotMatch(res.err, /at .*\.ts:\d+/);
  });
});

describe('connectors deploy, list, show, oauth-app', () => {
  let app: TestApp;
  let env: Record<string, string>;
  before(async () => {
    app = await startTestApp();
    env = { PLUGBOARD_URL: app.url, PLUGBOARD_API_KEY: app.apiKey };
  });
  after(async () => {
    await app?.close();
  });

  test('deploy adds versions; an invalid file deploys nothing', async () => {
    const first = await run(['connectors', 'deploy', join(dir, 'good.yaml')], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /Deployed cli-acme \(CLI Acme\) as version 1/);
    const second = await run(['connectors', 'deploy', '--json', join(dir, 'good.yaml')], env);
    assert.equal(JSON.parse(second.out).version, 2);
    const bad = await run(['connectors', 'deploy', join(dir, 'bad.yaml')], env);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid; nothing was deployed/);
  });

  test('list and show', async () => {
    const list = await run(['connectors', 'list'], env);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /cli-acme +CLI Acme +private +2 +custom/);
    assert.match(list.out, /linkedin .*form_body \(unconfirmed\)/);
    const show = await run(['connectors', 'show', 'google'], env);
    assert.match(show.out, /Google \(google\), builtin/);
    assert.match(show.out, /tokenUrl: https:\/\/oauth2\.googleapis\.com\/token/);
    const missing = await run(['connectors', 'show', 'nope'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /HTTP 404 NOT_FOUND/);
  });

  test('oauth-app reads the secret from the environment and never prints it', async () => {
    const secret = 'cli-secret-4b1d7e';
    const res = await run(['connectors', 'oauth-app', 'sandbox', '--client-id', 'plugboard-demo'], { ...env, PLUGBOARD_CLIENT_SECRET: secret });
    assert.equal(res.code, 0, res.err);
    assert.ok(!res.out.includes(secret));
    assert.deepEqual(await getOAuthApp(app.ctx, app.admin.organizationId, 'sandbox'), { clientId: 'plugboard-demo', clientSecret: secret });
    const empty = await run(['connectors', 'oauth-app', 'sandbox', '--client-id', 'x'], env);
    assert.equal(empty.code, 1);
    assert.match(empty.err, /client secret is empty/);
  });

  test('a server that cannot be reached is one clear line', async () => {
    const res = await run(['connectors', 'list', '--url', 'http://127.0.0.1:9'], env);
    assert.equal(res.code, 1);
    assert.match(res.err, /cannot reach Plugboard/);
  });
});

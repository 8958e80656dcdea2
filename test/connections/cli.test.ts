/**
 * `plugboard connections` against an in-process server: every subcommand in JSON and table form, and the failures a
 * person meets (unknown id, missing API key) as one readable line on stderr with exit code 1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { deployConnector, sandboxDefinition } from './fixtures.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let app: TestApp;
let sandbox: Sandbox;
let instanceId: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'connections', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}
const flags = () => ['--url', app.url, '--api-key', app.apiKey];

before(async () => {
  [app, sandbox] = await Promise.all([startTestApp(), startSandbox()]);
  await deployConnector(app, sandboxDefinition(sandbox, 'sbx'), { id: 'plugboard-demo', secret: 'plugboard-demo-secret' });
  await deployConnector(app, { key: 'keyed', name: 'Keyed', baseUrl: 'https://api.example.com', auth: { type: 'custom', apply: { in: 'header', name: 'X-Api-Key' } } }, null);
  const created = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'cli one', tags: ['cli'], credentials: { apiKey: 'k-canary' } } });
  instanceId = created.body.id;
});
after(async () => { await Promise.all([app.close(), sandbox.close()]); });

test('list and show, as a table and as JSON', async () => {
  const table = await cli(['list', '--tags', 'cli', ...flags()]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^id\s+name\s+element\s+status/m);
  assert.match(table.stdout, new RegExp(`${instanceId}\\s+cli one\\s+keyed\\s+active`));
  const json = await cli(['list', '--all', '--json', ...flags()]);
  assert.equal(JSON.parse(json.stdout).instances[0].id, instanceId);
  const show = await cli(['show', instanceId, ...flags()]);
  assert.match(show.stdout, /status\s+active/);
  assert.ok(!show.stdout.includes('k-canary'));
  assert.equal(JSON.parse((await cli(['show', instanceId, '--json', ...flags()])).stdout).name, 'cli one');
});

test('rename, disable, enable', async () => {
  assert.match((await cli(['rename', instanceId, 'cli renamed', ...flags()])).stdout, /Renamed cli renamed/);
  assert.equal(JSON.parse((await cli(['disable', instanceId, '--json', ...flags()])).stdout).status, 'disabled');
  assert.match((await cli(['enable', instanceId, ...flags()])).stdout, /Enabled .*active/);
  assert.equal((await app.call('GET', `/instances/${instanceId}`)).body.name, 'cli renamed');
});

test('rotate-token prints the new token once; the previous one stops resolving; an unknown id is one line on stderr', async () => {
  const created = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'cli rotate', credentials: { apiKey: 'k-canary-2' } } });
  assert.equal(created.status, 201, created.text);
  const resolve = (token: string) => app.ctx.hooks.resolveInstanceToken!(app.ctx, { orgId: app.admin.organizationId, userId: 'u', instanceToken: token });
  const table = await cli(['rotate-token', created.body.id, ...flags()]);
  assert.equal(table.code, 0, table.stderr);
  const printed = /^(pbe_\S+)$/m.exec(table.stdout)?.[1];
  assert.ok(printed !== undefined, table.stdout);
  assert.deepEqual(await resolve(printed), { instanceId: created.body.id });
  assert.equal(await resolve(created.body.token), null);
  const json = JSON.parse((await cli(['rotate-token', created.body.id, '--json', ...flags()])).stdout);
  assert.equal(json.id, created.body.id);
  assert.equal(await resolve(printed), null, 'the token printed before is retired too');
  const unknown = await cli(['rotate-token', 'no-such-instance', ...flags()]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /NOT_FOUND/);
});

test('oauth-url prints the provider URL; for a non-OAuth connector it explains', async () => {
  const ok = await cli(['oauth-url', 'sbx', '--name', 'from cli', '--json', ...flags()]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(new URL(JSON.parse(ok.stdout).oauthUrl).origin, sandbox.url);
  const bad = await cli(['oauth-url', 'keyed', ...flags()]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /VALIDATION_FAILED.*authorization code/);
});

test('failures: unknown id, no API key', async () => {
  const missing = await cli(['show', 'no-such-id', ...flags()]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^plugboard: HTTP 404 NOT_FOUND/);
  // An id made before ids stopped starting with "-": commander reads it as an option, and the error says what to do.
  const dashed = '-DFlhVKUtWBrolDHd-ddOw';
  const asOption = await cli(['show', dashed, ...flags()]);
  assert.equal(asOption.code, 1);
  assert.match(asOption.stderr, /^error: unknown option '-DFlhVKUtWBrolDHd-ddOw'\nAn id that starts with "-" goes after "--"/);
  const afterDashes = await cli(['show', ...flags(), '--', dashed]);
  assert.equal(afterDashes.code, 1);
  assert.match(afterDashes.stderr, /^plugboard: HTTP 404 NOT_FOUND/, 'after "--" the id reaches the API');
  const typo = await cli(['show', instanceId, '--jsno', ...flags()]);
  assert.doesNotMatch(typo.stderr, /goes after "--"/, 'a mistyped option gets no id hint');
  const noKey = await cli(['list', '--url', app.url, '--data-dir', '/nonexistent-plugboard-dir']);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /No API key/);
});

test('delete', async () => {
  const created = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'doomed', credentials: { apiKey: 'x' } } });
  const res = await cli(['delete', created.body.id, ...flags()]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, new RegExp(`Deleted ${created.body.id}`));
  assert.equal((await app.call('GET', `/instances/${created.body.id}`)).status, 404);
});

/**
 * `plugboard flows` against an in-process server: `run` with typed inputs (table and JSON), the connector check, bad
 * `--input` pairs, a failing flow's exit code, `executions` with filters and `execution <id>`. Vault values never
 * reach the terminal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { parseInputs } from '../../src/cli/commands/flows.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { echoConnector, startEchoServer } from './echo-connector.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const CANARY = 'cli-canary-key-7781';
let app: TestApp;
let server: Server;
let instanceId: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'flows', ...args, '--url', app.url, '--api-key', app.apiKey], { env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

before(async () => {
  server = await startEchoServer();
  app = await startTestApp();
  const deployed = await app.call('POST', '/elements', { body: echoConnector(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) });
  assert.ok(deployed.status < 300, deployed.text);
  const created = await app.call('POST', '/instances', { body: { element: { key: 'echoer' }, name: 'cli echo', credentials: { apiKey: CANARY } } });
  instanceId = created.body.id;
});

after(async () => {
  await app.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('parses key=value inputs, JSON where it parses', () => {
  assert.deepEqual(parseInputs(['a=1', 'b=true', 'c={"x":[1]}', 'd=plain text', 'e="quoted"', 'f=a=b']), { a: 1, b: true, c: { x: [1] }, d: 'plain text', e: 'quoted', f: 'a=b' });
  assert.throws(() => parseInputs(['novalue']), /expected key=value/);
  assert.throws(() => parseInputs(['=x']), /expected key=value/);
  assert.throws(() => parseInputs(['a=1', 'a=2']), /given twice/);
});

it('runs a flow and prints its outputs, redacted', async () => {
  const res = await cli(['run', 'echoer', 'whoami', '--connection', instanceId, '--input', 'who=grace']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^whoami succeeded \(execution exe_/);
  assert.match(res.stdout, /"who": "grace"/);
  assert.ok(!res.stdout.includes(CANARY));
  const json = await cli(['run', 'echoer', 'whoami', '--connection', instanceId, '--input', 'who=grace', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const body = JSON.parse(json.stdout) as { status: string; outputs: { leak: string } };
  assert.equal(body.status, 'succeeded');
  assert.equal(body.outputs.leak, 'key=[redacted]');
});

it('fails with exit code 1 and one line for mistakes', async () => {
  const wrongConnector = await cli(['run', 'github', 'whoami', '--connection', instanceId]);
  assert.equal(wrongConnector.code, 1);
  assert.match(wrongConnector.stderr, /belongs to connector 'echoer', not 'github'/);
  const badInput = await cli(['run', 'echoer', 'whoami', '--connection', instanceId, '--input', 'who']);
  assert.equal(badInput.code, 1);
  assert.match(badInput.stderr, /expected key=value/);
  const missingInput = await cli(['run', 'echoer', 'whoami', '--connection', instanceId]);
  assert.equal(missingInput.code, 1);
  assert.match(missingInput.stderr, /VALIDATION_FAILED.*\n\s+inputs\.who: required input/);
  const unknownFlow = await cli(['run', 'echoer', 'whoamI', '--connection', instanceId]);
  assert.equal(unknownFlow.code, 1);
  assert.match(unknownFlow.stderr, /did you mean 'whoami'/);
  const failing = await cli(['run', 'echoer', 'broken', '--connection', instanceId]);
  assert.equal(failing.code, 1);
  assert.match(failing.stdout, /broken failed/);
  assert.match(failing.stdout, /FLOW_FAILED: this flow always fails/);
});

it('lists executions and shows one with its cards', async () => {
  const list = await cli(['executions', '--connection', instanceId, '--flow', 'whoami']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^id\s+flow\s+status/m);
  const id = /^(exe_\S+)\s+whoami\s+succeeded/m.exec(list.stdout)?.[1];
  assert.ok(id !== undefined, list.stdout);
  const show = await cli(['execution', id]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /echoer whoami succeeded/);
  assert.match(show.stdout, /cards\[call\]\s+http/);
  const json = await cli(['execution', id, '--json']);
  assert.ok(!json.stdout.includes(CANARY));
  assert.equal(JSON.parse(json.stdout).cards.length, 2);
  const failed = await cli(['executions', '--status', 'failed', '--json']);
  assert.ok((JSON.parse(failed.stdout) as { executions: { status: string }[] }).executions.every((e) => e.status === 'failed'));
  const missing = await cli(['execution', 'exe_nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /HTTP 404 NOT_FOUND/);
});

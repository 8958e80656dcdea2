/**
 * `plugboard webhooks` against an in-process server: add (secret printed once), list (no secret), test --wait to a
 * loopback receiver, deliveries, remove, and the failures a person meets (bad URL, unknown id, no API key) as one
 * readable line on stderr with exit code 1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestApp, type TestApp } from '../support/app.ts';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let app: TestApp;
let server: http.Server;
let receiverUrl: string;
const received: Array<{ body: string; signature: string }> = [];

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'webhooks', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}
const flags = () => ['--url', app.url, '--api-key', app.apiKey];

before(async () => {
  app = await startTestApp({ config: { webhooks: { allowPrivateTargets: true } } });
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ body, signature: String(req.headers['plugboard-signature']) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await app.close();
});

test('add prints the secret once; list shows the webhook without it; test --wait succeeds; remove deletes', async () => {
  const added = await cli(['add', receiverUrl, '--events', 'instance.invalidated,instance.revoked', '--description', 'from the cli', ...flags()]);
  assert.equal(added.code, 0, added.stderr);
  const id = /Created webhook (\S+)/.exec(added.stdout)?.[1];
  const secret = /Signing secret[^:]*: (whsec_\S+)/.exec(added.stdout)?.[1];
  assert.ok(id !== undefined && secret !== undefined, added.stdout);

  const table = await cli(['list', ...flags()]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^id\s+url\s+events\s+enabled/m);
  assert.ok(table.stdout.includes(id));
  assert.ok(!table.stdout.includes(secret), 'the secret is not listed');
  const json = JSON.parse((await cli(['list', '--json', ...flags()])).stdout);
  assert.deepEqual(json.webhooks.find((w: { id: string }) => w.id === id).events, ['instance.invalidated', 'instance.revoked']);

  const sent = await cli(['test', id, '--wait', '--timeout', '20', ...flags()]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /succeeded \(HTTP 200\) after 1 attempt/);
  const last = received.at(-1);
  assert.ok(last);
  assert.equal(verifyWebhookSignature({ secret, body: last.body, header: last.signature }).ok, true);
  assert.equal(JSON.parse(last.body).type, 'webhook.test');

  const log = JSON.parse((await cli(['deliveries', id, '--json', ...flags()])).stdout);
  assert.equal(log.deliveries[0].status, 'succeeded');

  assert.match((await cli(['remove', id, ...flags()])).stdout, new RegExp(`Deleted webhook ${id}`));
  assert.equal((await app.call('GET', '/webhooks')).body.webhooks.some((w: { id: string }) => w.id === id), false);
});

test('add --json returns the API answer, including the secret', async () => {
  const added = await cli(['add', receiverUrl, '--events', '*', '--json', ...flags()]);
  assert.equal(added.code, 0, added.stderr);
  const body = JSON.parse(added.stdout);
  assert.match(body.signingSecret, /^whsec_/);
  assert.deepEqual(body.events, ['*']);
});

test('failures are one line on stderr with exit code 1', async () => {
  const badUrl = await cli(['add', 'not-a-url', '--events', '*', ...flags()]);
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.stderr, /^plugboard: HTTP 400 VALIDATION_FAILED/);
  assert.match(badUrl.stderr, /body\.url/);
  const unknown = await cli(['test', 'no-such-webhook', ...flags()]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /HTTP 404 NOT_FOUND/);
  const noKey = await cli(['list', '--url', app.url, '--data-dir', '/nonexistent-plugboard-dir']);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /No API key/);
  const missingEvents = await cli(['add', receiverUrl, ...flags()]);
  assert.notEqual(missingEvents.code, 0);
  assert.match(missingEvents.stderr, /--events/);
});

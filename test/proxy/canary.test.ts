/**
 * A canary access token, imported into a connection, is driven through every path of this area: a proxied call, a
 * provider that echoes it in an error body and in a header, a rejection that invalidates the connection, an authping,
 * the events feed and the webhook deliveries of every event. It must never appear in a log line (debug level), an
 * event, a webhook body, an error body or a response header.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.ts';

const CANARY = 'canary-tok-7f3a9c2e5b1d4f608a2c';
let app: TestApp;
let provider: http.Server;
let providerUrl: string;
let receiver: http.Server;
let receiverUrl: string;
const delivered: string[] = [];
let rejectAll = false;

before(async () => {
  app = await startTestApp({ config: { logLevel: 'debug', webhooks: { allowPrivateTargets: true } } });
  provider = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const auth = String(req.headers.authorization);
      if (rejectAll) return res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer error="invalid_token", token="${auth}"` }).end(JSON.stringify({ error: 'invalid_token', got: auth }));
      if (req.url?.startsWith('/echo-error')) return res.writeHead(400, { 'content-type': 'text/plain', 'x-echo': auth }).end(`bad request for ${auth}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      delivered.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});

after(async () => {
  for (const s of [provider, receiver]) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await app.close();
});

test('the canary token never leaves the vault except towards the provider', async () => {
  const hook = await app.call('POST', '/webhooks', { body: { url: receiverUrl, events: ['*'] } });
  assert.equal(hook.status, 201);
  const created = await app.call('POST', '/instances', { body: { element: { key: 'sandbox' }, name: 'canary', baseUrl: providerUrl, tokens: { accessToken: CANARY, expiresIn: 3600 } } });
  assert.equal(created.status, 201, created.text);
  const id = created.body.id;
  const seen: string[] = [created.text];

  const ok = await app.call('GET', `/instances/${id}/proxy/anything`);
  assert.equal(ok.status, 200);
  seen.push(ok.text, JSON.stringify(ok.headers));

  const echoed = await app.call('GET', `/instances/${id}/proxy/echo-error`);
  assert.equal(echoed.status, 400);
  seen.push(echoed.text, JSON.stringify(echoed.headers));

  rejectAll = true;
  const dead = await app.call('GET', `/instances/${id}/proxy/anything`);
  assert.equal(dead.status, 401);
  assert.equal(dead.body.code, 'INVALID_ACCESS_TOKEN');
  seen.push(dead.text, JSON.stringify(dead.headers));

  const ping = await app.call('POST', `/instances/${id}/authping`);
  seen.push(ping.text);
  const events = await app.call('GET', `/events?instanceId=${id}`);
  assert.ok(events.body.events.length >= 2);
  seen.push(events.text);

  // Let the outbox deliver the events of this instance.
  for (let i = 0; i < 100 && !delivered.some((d) => d.includes('instance.invalidated')); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(delivered.some((d) => d.includes('instance.invalidated')), 'the invalidation was delivered');

  for (const text of [...seen, ...delivered]) assert.ok(!text.includes(CANARY), `canary leaked in: ${text.slice(0, 300)}`);
  const leakedLog = app.logs.find((line) => line.includes(CANARY));
  assert.equal(leakedLog, undefined, `canary leaked in a log line: ${leakedLog?.slice(0, 300)}`);
  assert.ok(app.logs.length > 10, 'debug logging was on, so the check saw real log traffic');
});

/**
 * The proxy endpoints on a real app (SQLite) against the sandbox and a loopback echo server: forwarding through
 * `/instances/{id}/proxy/*` and `/proxy/*` (Element token), header sanitising and streamed bodies as the provider
 * sees them, provider errors in providerMessage, a token revoked at the provider turning into 401
 * INVALID_ACCESS_TOKEN with the instance invalid, SSRF refusals through the API, path traversal, tenancy, disabled
 * instances, and a canary token that must never reach logs, events or error bodies.
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client, request as undiciRequest } from 'undici';
import type { TestApp } from '../support/app.ts';
import { type Sandbox, DEFAULT_CLIENT } from '../../src/sandbox/index.ts';
import { deployConnector } from '../connections/fixtures.ts';
import { listenOnLoopback, startProxyWorld, type ProxyWorld } from './support.ts';

let app: TestApp;
let sandbox: Sandbox;
let flakyCount = 0;
let echo: { url: string; seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>; close(): Promise<void> };

async function startEcho() {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      if (req.url?.startsWith('/flaky') && (flakyCount++ % 2 === 0)) {
        res.writeHead(503, { 'retry-after': '0' }).end('busy');
        return;
      }
      if (req.url?.startsWith('/fail')) {
        res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unprocessable', echoed: req.headers.authorization }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'provider=1', 'x-provider': 'echo' }).end(JSON.stringify({ method: entry.method, url: entry.url, length: entry.body.length }));
    });
  });
  return { url: server.url, seen, close: server.close };
}

let world: ProxyWorld<typeof echo>;

before(async () => {
  world = await startProxyWorld(startEcho);
  ({ sandbox, provider: echo, app } = world);
});

after(() => world.close());

/** A sandbox connection holding imported tokens (no refresh token unless given), pointed at `baseUrl`. */
async function sandboxInstance(name: string, baseUrl: string, withRefresh = false) {
  const issued = sandbox.admin.issueTokens({ clientId: DEFAULT_CLIENT.id, userId: 'user-alice', scope: 'profile files.read' });
  const tokens: Record<string, unknown> = { accessToken: issued.access_token, expiresIn: 3600 };
  if (withRefresh && issued.refresh_token !== undefined) tokens.refreshToken = issued.refresh_token;
  const res = await app.call('POST', '/instances', { body: { element: { key: 'sandbox' }, name, baseUrl, tokens, apiKey: DEFAULT_CLIENT.id, apiSecret: DEFAULT_CLIENT.secret } });
  assert.equal(res.status, 201, res.text);
  return { instance: res.body, accessToken: issued.access_token };
}

test('proxies a call to the provider with the connection token, through the id route and the Element route', async () => {
  const { instance, accessToken } = await sandboxInstance('proxy-basic', sandbox.url);
  const res = await app.call('GET', `/instances/${instance.id}/proxy/api/me`);
  assert.equal(res.status, 200, res.text);
  assert.ok(res.text.includes('alice'), res.text);

  const viaElement = await app.call('GET', '/proxy/api/me', { authorization: `User ${app.admin.userSecret}, Element ${instance.token}` });
  assert.equal(viaElement.status, 200, viaElement.text);
  assert.ok(viaElement.text.includes('alice'));

  const wrongElement = await app.call('GET', '/proxy/api/me', { authorization: `User ${app.admin.userSecret}, Element pbe_000000000000_nope` });
  assert.equal(wrongElement.status, 401);
  assert.ok(!app.logs.some((l) => l.includes(accessToken)), 'the access token must not be logged');
});

test('the provider sees sanitised headers, the path and query unchanged, and the streamed body', async () => {
  const { instance, accessToken } = await sandboxInstance('proxy-echo', echo.url);
  const body = JSON.stringify({ name: 'x'.repeat(50_000) });
  const res = await undiciRequest(`${app.url}/instances/${instance.id}/proxy/v1/items/a%2Fb?q=1&q=2`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${app.apiKey}`,
      'content-type': 'application/json',
      cookie: 'plugboard-session=1',
      'x-forwarded-for': '10.9.8.7',
      'x-forwarded-host': 'evil.example',
      forwarded: 'for=10.9.8.7',
      'x-plugboard-retry': 'off',
      'x-custom': 'kept',
    },
    body,
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-provider'], 'echo');
  assert.equal(res.headers['set-cookie'], undefined, 'provider cookies are not passed to the caller');
  const answer = (await res.body.json()) as { method: string; url: string; length: number };
  assert.deepEqual(answer, { method: 'POST', url: '/v1/items/a%2Fb?q=1&q=2', length: body.length });
  const seen = echo.seen.at(-1);
  assert.ok(seen);
  assert.equal(seen.headers.authorization, `Bearer ${accessToken}`, 'the caller API key is replaced by the connection token');
  for (const name of ['cookie', 'x-forwarded-for', 'x-forwarded-host', 'forwarded', 'x-plugboard-retry']) assert.equal(seen.headers[name], undefined, name);
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(seen.headers.host, new URL(echo.url).host);
});

test('a provider error keeps its status and carries the body in providerMessage, with the token redacted', async () => {
  const { instance, accessToken } = await sandboxInstance('proxy-error', echo.url);
  const res = await app.call('POST', `/instances/${instance.id}/proxy/fail`, { body: { a: 1 } });
  assert.equal(res.status, 422);
  assert.equal(res.body.code, 'PROVIDER_ERROR');
  assert.equal(res.body.providerMessage.error, 'unprocessable');
  assert.ok(!res.text.includes(accessToken), 'the provider echoed the token; it must be redacted');
  assert.ok(typeof res.body.requestId === 'string');
});

test('seed 002 step 4: a token revoked at the provider gives 401 INVALID_ACCESS_TOKEN and the instance turns invalid', async () => {
  const { instance, accessToken } = await sandboxInstance('proxy-revoked', sandbox.url);
  assert.equal((await app.call('GET', `/instances/${instance.id}/proxy/api/me`)).status, 200);
  sandbox.admin.revokeToken(accessToken);
  const res = await app.call('GET', `/instances/${instance.id}/proxy/api/files`);
  assert.equal(res.status, 401, res.text);
  assert.equal(res.body.code, 'INVALID_ACCESS_TOKEN');
  assert.ok('providerMessage' in res.body);
  assert.ok(typeof res.body.message === 'string' && res.body.message.length > 0);
  const shown = await app.call('GET', `/instances/${instance.id}`);
  assert.equal(shown.body.valid, false);
  assert.equal(shown.body.status, 'invalid');
  const events = await app.call('GET', `/events?instanceId=${instance.id}`);
  assert.ok(events.body.events.some((e: { type: string }) => e.type === 'instance.invalidated'), JSON.stringify(events.body.events.map((e: { type: string }) => e.type)));
  assert.ok(!events.text.includes(accessToken), 'events carry no token');
  assert.ok(!app.logs.some((l) => l.includes(accessToken)), 'no log line carries the token');
});

test('SSRF through the API: a private or metadata base URL without the connector opt-in is refused with 403', async () => {
  for (const baseUrl of [echo.url, 'https://169.254.169.254/latest', 'https://[::ffff:127.0.0.1]:1/']) {
    const created = await app.call('POST', '/instances', { body: { element: { key: 'github-app-installation' }, name: `ssrf ${baseUrl}`, baseUrl, credentials: { apiKey: 'ghs_ssrf_canary_000000' } } });
    // The instance is stored (its authping fails, so it starts invalid); the proxy is what must refuse the target.
    assert.equal(created.status, 201, created.text);
    const before = echo.seen.length;
    const res = await app.call('GET', `/instances/${created.body.id}/proxy/repos`);
    assert.equal(res.status, 403, `${baseUrl}: ${res.text}`);
    assert.equal(res.body.code, 'TARGET_FORBIDDEN');
    assert.equal(echo.seen.length, before, 'nothing reached the loopback server');
  }
  // Even a connector that opts in to private targets cannot reach the metadata address.
  const meta = await app.call('POST', '/instances', { body: { element: { key: 'sandbox' }, name: 'metadata', baseUrl: 'http://169.254.169.254', tokens: { accessToken: 'sandbox-meta-token-000', expiresIn: 3600 } } });
  assert.equal(meta.status, 201, meta.text);
  const res = await app.call('GET', `/instances/${meta.body.id}/proxy/latest/meta-data`);
  assert.equal(res.status, 403, res.text);
  assert.equal(res.body.code, 'TARGET_FORBIDDEN');
});

test('path traversal out of the base URL is a 400', async () => {
  const { instance } = await sandboxInstance('proxy-traversal', echo.url + '/base');
  const before = echo.seen.length;
  // A raw client: URL parsers would resolve %2e%2e themselves before the request is even sent.
  const client = new Client(app.url);
  try {
    for (const path of ['/%2e%2e/admin', '/a/..%2fadmin', '/a/%2E%2E/%2E%2E/admin', '/a/.%2e/admin', '/a/%5c..%5cadmin']) {
      const res = await client.request({ method: 'GET', path: `/instances/${instance.id}/proxy${path}`, headers: { authorization: `Bearer ${app.apiKey}` } });
      const body = (await res.body.json()) as { code: string };
      assert.equal(res.statusCode, 400, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.code, 'VALIDATION_FAILED');
    }
  } finally {
    await client.close();
  }
  assert.equal(echo.seen.length, before);
  const ok = await app.call('GET', `/instances/${instance.id}/proxy/inside/path`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.url, '/base/inside/path');
});

test('unknown, foreign and disabled instances are refused before any provider call', async () => {
  const { instance } = await sandboxInstance('proxy-tenancy', echo.url);
  const before = echo.seen.length;
  const missing = await app.call('GET', '/instances/does-not-exist/proxy/x');
  assert.equal(missing.status, 404);
  const org = await app.call('POST', '/organizations', { body: { name: 'Proxy other org' } });
  assert.equal(org.status, 201);
  const foreign = await app.call('GET', `/instances/${instance.id}/proxy/x`, { apiKey: org.body.apiKey.secret });
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body.code, 'NOT_FOUND');
  const unauthenticated = await app.call('GET', `/instances/${instance.id}/proxy/x`, { apiKey: null });
  assert.equal(unauthenticated.status, 401);
  assert.equal((await app.call('DELETE', `/instances/${instance.id}/enabled`)).status < 300, true);
  const disabled = await app.call('GET', `/instances/${instance.id}/proxy/x`);
  assert.equal(disabled.status, 409);
  assert.equal(disabled.body.code, 'INSTANCE_DISABLED');
  assert.equal(echo.seen.length, before);
});

test('HEAD, PUT, PATCH, DELETE and OPTIONS are forwarded with their method', async () => {
  const { instance } = await sandboxInstance('proxy-methods', echo.url);
  for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const res = await app.call(method, `/instances/${instance.id}/proxy/m`, method === 'PUT' || method === 'PATCH' ? { body: { x: 1 } } : {});
    assert.equal(res.status, 200, `${method}: ${res.text}`);
    assert.equal(res.body.method, method);
  }
  const head = await undiciRequest(`${app.url}/instances/${instance.id}/proxy/m`, { method: 'HEAD', headers: { authorization: `Bearer ${app.apiKey}` } });
  await head.body.dump();
  assert.equal(head.statusCode, 200);
  assert.equal(echo.seen.at(-1)?.method, 'HEAD');
});

test('retries: a connector default (proxy.retries) applies, and the caller header overrides it', async () => {
  await deployConnector(app, {
    key: 'flaky-api',
    name: 'Flaky API',
    baseUrl: echo.url,
    auth: { type: 'custom', apply: { in: 'header', name: 'X-Api-Key' } },
    dangerouslyAllowInsecureTargets: { plainHttp: true, privateNetwork: true },
    proxy: { retries: 2 },
  }, null);
  const created = await app.call('POST', '/instances', { body: { element: { key: 'flaky-api' }, name: 'flaky', credentials: { apiKey: 'flaky-key-000000' } } });
  assert.equal(created.status, 201, created.text);
  flakyCount = 0;
  const retried = await app.call('GET', `/instances/${created.body.id}/proxy/flaky`);
  assert.equal(retried.status, 200, retried.text);
  flakyCount = 0;
  const refused = await app.call('GET', `/instances/${created.body.id}/proxy/flaky`, { headers: { 'x-plugboard-retry': 'off' } });
  assert.equal(refused.status, 503);
  assert.equal(refused.body.code, 'PROVIDER_ERROR');
  const bad = await app.call('POST', '/elements', { body: { key: 'too-many', name: 'x', baseUrl: 'https://api.example.com', auth: { type: 'custom', apply: { in: 'header', name: 'X-Key' } }, proxy: { retries: 9 } } });
  assert.equal(bad.status, 400, bad.text);
});

test('a bad retry header is a 400 naming it', async () => {
  const { instance } = await sandboxInstance('proxy-retry-header', echo.url);
  const res = await app.call('GET', `/instances/${instance.id}/proxy/x`, { headers: { 'x-plugboard-retry': 'forever' } });
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'VALIDATION_FAILED');
  assert.match(res.body.message, /x-plugboard-retry/);
});

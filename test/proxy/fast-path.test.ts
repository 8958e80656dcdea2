/**
 * The proxy's lean path in front of Fastify (src/proxy/fast-path.ts): which requests it serves itself and which it
 * hands to Fastify untouched, and, for what it serves, what the Fastify routes did before it: request ids in the
 * X-Request-Id header and every error body, the error body and code of each refusal (bad id, credentials,
 * permission, tenancy, disabled instance, retry header), HEAD, and shutdown (in-flight calls drained, new ones refused
 * as Fastify refuses them).
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, request as undiciRequest } from 'undici';
import { startTestApp, type TestApp } from '../support/app.ts';
import { type Sandbox, DEFAULT_CLIENT } from '../../src/sandbox/index.ts';
import { ProxyFastPath, proxyRouteOf } from '../../src/proxy/fast-path.ts';
import { splitProxyUrl } from '../../src/proxy/handler.ts';
import { listenOnLoopback, startProxyWorld, type LoopbackServer, type ProxyWorld } from './support.ts';

let app: TestApp;
let sandbox: Sandbox;
let echo: LoopbackServer;
const SLOW_MS = 400;

function startEcho() {
  return listenOnLoopback((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => res.writeHead(200, { 'content-type': 'application/json', 'x-provider': 'echo' }).end(JSON.stringify({ method: req.method, url: req.url }));
      if (req.url?.startsWith('/slow')) setTimeout(answer, SLOW_MS);
      else answer();
    });
  });
}

let world: ProxyWorld<typeof echo>;

before(async () => {
  world = await startProxyWorld(startEcho);
  ({ sandbox, provider: echo, app } = world);
});

after(() => world.close());

async function instance(on: TestApp, name: string, baseUrl: string): Promise<{ id: string; token: string }> {
  const issued = sandbox.admin.issueTokens({ clientId: DEFAULT_CLIENT.id, userId: 'user-alice', scope: 'profile files.read' });
  const res = await on.call('POST', '/instances', { body: { element: { key: 'sandbox' }, name, baseUrl, tokens: { accessToken: issued.access_token, expiresIn: 3600 } } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function raw(method: string, path: string, headers: Record<string, string>, base = app.url) {
  const client = new Client(base);
  try {
    const res = await client.request({ method: method as 'GET', path, headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, body: text === '' || !String(res.headers['content-type']).includes('json') ? null : JSON.parse(text) };
  } finally {
    await client.close();
  }
}

test('proxyRouteOf recognises exactly the proxy URLs it can serve as the router would', () => {
  assert.equal(proxyRouteOf('/instances/abc/proxy/api/me'), 'abc');
  assert.equal(proxyRouteOf('/instances/abc/proxy/api/me?x=%20'), 'abc', 'percent-encoding in the query is the provider\'s business');
  assert.equal(proxyRouteOf('/instances/abc/proxy//'), 'abc');
  assert.equal(typeof proxyRouteOf('/proxy/api/me'), 'symbol');
  for (const url of [
    '/instances//proxy/x', // empty id: the route schema's 400
    `/instances/${'a'.repeat(501)}/proxy/x`, // longer than the router's parameter limit
    '/instances/abc/proxy/', // not a route (405 from Fastify)
    '/instances/abc/proxy',
    '/instances/abc/proxy?x=1',
    '/instances/a%20b/proxy/x', // the router decodes the id
    '/instances/abc/proxy/a%2Fb', // the router decodes or refuses percent-encoding
    '/instances/abc/proxy/x#y',
    '/proxy/',
    '/proxy',
    '/proxy?x=1',
    '/instances/abc',
    '/instances/abc/enabled',
    '/api/me',
  ]) assert.equal(proxyRouteOf(url), null, url);
});

test('splitProxyUrl keeps the provider path and query as sent', () => {
  assert.deepEqual(splitProxyUrl('/instances/abc/proxy/v1/items/a%2Fb?q=1&q=2', 3), { path: '/v1/items/a%2Fb', query: 'q=1&q=2' });
  assert.deepEqual(splitProxyUrl('/proxy/api/me', 1), { path: '/api/me', query: '' });
  assert.deepEqual(splitProxyUrl('/instances/abc/proxy//double/', 3), { path: '//double/', query: '' });
  assert.deepEqual(splitProxyUrl('/instances/abc/proxy/', 3), { path: '/', query: '' });
  assert.deepEqual(splitProxyUrl('/instances/abc/proxy', 3), { path: '/', query: '' });
  assert.deepEqual(splitProxyUrl('/proxy?next=/a/b', 1), { path: '/', query: 'next=/a/b' });
});

test('request ids: the caller\'s safe X-Request-Id is kept, anything else replaced, and every error body carries it', async () => {
  const { id } = await instance(app, 'fast-ids', sandbox.url);
  const ok = await raw('GET', `/instances/${id}/proxy/api/me`, { authorization: `Bearer ${app.apiKey}`, 'x-request-id': 'trace-1.a:b' });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.headers['x-request-id'], 'trace-1.a:b');
  const replaced = await raw('GET', `/instances/${id}/proxy/api/me`, { authorization: `Bearer ${app.apiKey}`, 'x-request-id': 'not safe!' });
  assert.equal(replaced.status, 200);
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

  const limited = await app.call('POST', '/api-keys', { body: { name: 'read only', permissions: ['instances:read'] } });
  assert.equal(limited.status, 201, limited.text);
  const other = await app.call('POST', '/organizations', { body: { name: 'Fast path other org' } });
  assert.equal(other.status, 201, other.text);
  const cases: Array<[string, Record<string, string>, number, string]> = [
    [`/instances/${id}/proxy/api/me`, { authorization: 'Bearer pb_000000000000_unknown' }, 401, 'UNAUTHENTICATED'],
    [`/instances/${id}/proxy/api/me`, { authorization: 'Basic eDp5' }, 401, 'UNAUTHENTICATED'],
    ['/proxy/api/me', { authorization: `Bearer ${app.apiKey}` }, 401, 'UNAUTHENTICATED'],
    [`/instances/${id}/proxy/api/me`, { authorization: `Bearer ${limited.body.secret ?? limited.body.apiKey?.secret}` }, 403, 'FORBIDDEN'],
    [`/instances/${id}/proxy/api/me`, { authorization: `Bearer ${other.body.apiKey.secret}` }, 404, 'NOT_FOUND'],
    ['/instances/nope/proxy/api/me', { authorization: `Bearer ${app.apiKey}` }, 404, 'NOT_FOUND'],
    [`/instances/${id}/proxy/api/me`, { authorization: `Bearer ${app.apiKey}`, 'x-plugboard-retry': 'forever' }, 400, 'VALIDATION_FAILED'],
    [`/instances/${id}/proxy/a/%2e%2e/b`, { authorization: `Bearer ${app.apiKey}` }, 400, 'VALIDATION_FAILED'],
  ];
  for (const [path, headers, status, code] of cases) {
    const res = await raw('GET', path, { ...headers, 'x-request-id': `case-${status}` });
    assert.equal(res.status, status, `${path}: ${res.text}`);
    assert.equal(res.body.code, code, path);
    assert.equal(res.body.requestId, `case-${status}`, path);
    assert.equal(res.headers['x-request-id'], `case-${status}`, path);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(typeof res.body.message, 'string');
    assert.deepEqual(Object.keys(res.body).filter((k) => !['requestId', 'code', 'message', 'details', 'providerMessage'].includes(k)), []);
  }
  const unauthenticated = await raw('GET', `/instances/${id}/proxy/api/me`, { authorization: 'Bearer pb_000000000000_unknown' });
  assert.equal(unauthenticated.headers['www-authenticate'], 'Bearer realm="plugboard"');
  assert.ok(!app.logs.some((l) => l.includes('pb_000000000000_unknown')), 'presented credentials are never logged');
});

test('a bad id gets the route schema\'s answer; a disabled instance 409', async () => {
  const bad = await raw('GET', '/instances//proxy/x', { authorization: `Bearer ${app.apiKey}`, 'x-request-id': 'bad-id' });
  assert.equal(bad.status, 400, bad.text);
  assert.deepEqual(bad.body, {
    requestId: 'bad-id',
    code: 'VALIDATION_FAILED',
    message: 'Invalid request: params.id: Too small: expected string to have >=1 characters',
    details: [{ path: 'params.id', message: 'Too small: expected string to have >=1 characters' }],
  });
  const { id } = await instance(app, 'fast-disabled', echo.url);
  assert.ok((await app.call('DELETE', `/instances/${id}/enabled`)).status < 300);
  const disabled = await raw('POST', `/instances/${id}/proxy/x`, { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json', 'x-request-id': 'disabled' });
  assert.equal(disabled.status, 409);
  assert.equal(disabled.body.code, 'INSTANCE_DISABLED');
  assert.equal(disabled.body.requestId, 'disabled');
});

test('HEAD: the provider\'s status and headers, no body; an error keeps its Content-Length and sends no body either', async () => {
  const { id } = await instance(app, 'fast-head', echo.url);
  const head = await undiciRequest(`${app.url}/instances/${id}/proxy/h`, { method: 'HEAD', headers: { authorization: `Bearer ${app.apiKey}`, 'x-request-id': 'head-1' } });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['x-provider'], 'echo');
  assert.equal(head.headers['x-request-id'], 'head-1');
  assert.equal(await head.body.text(), '');
  const missing = await undiciRequest(`${app.url}/instances/nope/proxy/h`, { method: 'HEAD', headers: { authorization: `Bearer ${app.apiKey}` } });
  assert.equal(missing.statusCode, 404);
  assert.ok(Number(missing.headers['content-length']) > 0);
  assert.equal(await missing.body.text(), '');
});

test('what the fast path does not recognise reaches the next handler untouched; what it serves never does', async () => {
  const { id } = await instance(app, 'fast-handover', echo.url);
  const fastPath = new ProxyFastPath(app.ctx);
  const handedOver: string[] = [];
  const front = await listenOnLoopback((req, res) => {
    if (fastPath.handle(req, res)) return;
    handedOver.push(`${req.method} ${req.url}`);
    res.writeHead(299).end();
  });
  const base = front.url;
  const auth = { authorization: `Bearer ${app.apiKey}` };
  try {
    for (const [method, path, headers] of [
      ['GET', `/instances/${id}/proxy/x`, {}], // no credentials: the console or Fastify's 401
      ['TRACE', `/instances/${id}/proxy/x`, auth],
      ['GET', `/instances/${id}/proxy/a%2Fb`, auth],
      ['GET', `/instances/${id}/proxy/`, auth],
      ['GET', '/instances//proxy/x', auth],
      ['POST', `/instances/${id}/proxy/x`, { ...auth, 'content-type': 'not a type' }], // Fastify's 415
      ['GET', '/instances', auth],
    ] as Array<[string, string, Record<string, string>]>) {
      const res = await raw(method, path, headers, base);
      assert.equal(res.status, 299, `${method} ${path}: ${res.text}`);
    }
    assert.equal(handedOver.length, 7);
    const served = await raw('POST', `/instances/${id}/proxy/x`, { ...auth, 'content-type': 'text/plain; charset=utf-8' }, base);
    assert.equal(served.status, 200, served.text);
    assert.deepEqual(served.body, { method: 'POST', url: '/x' });
    assert.equal(handedOver.length, 7);

    // Shutting down: everything goes to the next handler (Fastify refuses it as it always has).
    app.ctx.shuttingDown = true;
    try {
      assert.equal((await raw('GET', `/instances/${id}/proxy/x`, auth, base)).status, 299);
    } finally {
      app.ctx.shuttingDown = false;
    }
  } finally {
    await front.close();
  }
});

test('close() waits for the calls in flight, and the fast path takes no new call once closing', async () => {
  const { id } = await instance(app, 'fast-drain', echo.url);
  const fastPath = new ProxyFastPath(app.ctx);
  const front = await listenOnLoopback((req, res) => {
    if (!fastPath.handle(req, res)) res.writeHead(299).end();
  });
  const base = front.url;
  const auth = { authorization: `Bearer ${app.apiKey}` };
  try {
    const inFlight = raw('GET', `/instances/${id}/proxy/slow`, auth, base);
    const until = Date.now() + 5000;
    while (fastPath.inFlight === 0) {
      assert.ok(Date.now() < until, 'the call never started');
      await new Promise((r) => setTimeout(r, 5));
    }
    let closed = false;
    const closing = fastPath.close().then(() => {
      closed = true;
    });
    assert.equal((await raw('GET', `/instances/${id}/proxy/x`, auth, base)).status, 299, 'a new call goes to the next handler');
    assert.equal(closed, false, 'close waits for the call in flight');
    const answer = await inFlight;
    assert.equal(answer.status, 200, answer.text);
    await closing;
    assert.equal(fastPath.inFlight, 0);
  } finally {
    await front.close();
  }
});

test('graceful stop of the app: a proxied call in flight completes, a new one on a kept-alive connection is refused', async () => {
  const own = await startTestApp();
  const { id } = await instance(own, 'fast-stop', echo.url);
  const client = new Client(own.url, { pipelining: 0 });
  const headers = { authorization: `Bearer ${own.apiKey}` };
  try {
    // Warm the connection so the second call reuses it.
    const warm = await client.request({ method: 'GET', path: `/instances/${id}/proxy/x`, headers });
    await warm.body.dump();
    const second = new Client(own.url);
    const warmSecond = await second.request({ method: 'GET', path: `/instances/${id}/proxy/x`, headers });
    await warmSecond.body.dump();
    const inFlight = client.request({ method: 'GET', path: `/instances/${id}/proxy/slow`, headers });
    await new Promise((r) => setTimeout(r, SLOW_MS / 4));
    const stopping = own.close();
    const refused = await second.request({ method: 'GET', path: `/instances/${id}/proxy/x`, headers }).then(
      async (res) => ({ status: res.statusCode, text: await res.body.text() }),
      (error: Error) => ({ status: 0, text: error.message }),
    );
    assert.notEqual(refused.status, 200, `a call made while stopping must not be served: ${refused.text}`);
    const answer = await inFlight;
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(await answer.body.json(), { method: 'GET', url: '/slow' });
    await stopping;
    await second.close().catch(() => undefined);
  } finally {
    await client.close().catch(() => undefined);
  }
});

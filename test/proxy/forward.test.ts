/**
 * The forwarding core against a loopback upstream with a scripted connection: credential placement, path and body
 * forwarding, one refresh and one retry on 401, invalidation, provider error pass-through, opt-in retries on 429 and
 * 5xx, path traversal refusals and the replay limit. No Plugboard server or store is involved.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  buildTargetUrl,
  forwardRequest,
  NO_RETRIES,
  retryOptionsFrom,
} from '../../src/proxy/forward.ts';
import type { ConnectionCredentials, CredentialPlacement, ProxyCredential, ProxyTarget, RefreshOutcome } from '../../src/proxy/forward.ts';
import { PlugboardError, isPlugboardError } from '../../src/core/errors.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function upstream(respond: (seen: Seen, index: number) => { status: number; headers?: Record<string, string>; body?: string }) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      const r = respond(s, seen.length - 1);
      res.writeHead(r.status, r.headers ?? {}).end(r.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

class ScriptedConnection implements ConnectionCredentials {
  credential: ProxyCredential;
  refreshes = 0;
  invalidated: string[] = [];
  validated = 0;
  readonly #next: RefreshOutcome[];

  constructor(credential: ProxyCredential, next: RefreshOutcome[] = []) {
    this.credential = credential;
    this.#next = next;
  }
  async current() {
    return this.credential;
  }
  async refreshAfterRejection(): Promise<RefreshOutcome> {
    this.refreshes++;
    const outcome = this.#next.shift() ?? { ok: false, reason: 'not_refreshable', message: 'nothing scripted' };
    if (outcome.ok) this.credential = outcome.credential;
    return outcome;
  }
  async markInvalid(reason: string) {
    this.invalidated.push(reason);
  }
  async markValid() {
    this.validated++;
  }
}

const token = (value: string): ProxyCredential => ({ kind: 'token', value });

function target(baseUrl: string, placement: CredentialPlacement = { in: 'bearer', scheme: 'Bearer' }): ProxyTarget {
  return { baseUrl, placement, policy: { allowPrivateTargets: true }, allowPlainHttp: true };
}

const noSleep = async () => {};

test('forwards method, path, query, body and headers with the bearer credential and sanitised headers', async () => {
  const up = await upstream(() => ({ status: 201, headers: { 'content-type': 'application/json', 'set-cookie': 'a=1', 'x-upstream': 'yes' }, body: '{"ok":true}' }));
  try {
    const conn = new ScriptedConnection(token('tok-1'));
    const res = await forwardRequest({
      method: 'POST',
      path: '/files/a%2Fb',
      query: 'x=1&y=two',
      headers: { authorization: 'User u, Element e', cookie: 'c=1', 'x-forwarded-for': '1.2.3.4', 'content-type': 'application/json', 'x-custom': 'kept' },
      body: Readable.from([Buffer.from('{"name":'), Buffer.from('"n"}')]),
      target: target(up.url + '/api/v2'),
      credentials: conn,
      retry: NO_RETRIES,
    });
    assert.equal(res.statusCode, 201);
    assert.equal(await new Response(Readable.toWeb(res.body) as ReadableStream).text(), '{"ok":true}');
    assert.equal(res.headers['x-upstream'], 'yes');
    assert.equal(res.headers['set-cookie'], undefined);
    const [s] = up.seen;
    assert.equal(s.method, 'POST');
    assert.equal(s.url, '/api/v2/files/a%2Fb?x=1&y=two');
    assert.equal(s.body, '{"name":"n"}');
    assert.equal(s.headers.authorization, 'Bearer tok-1');
    assert.equal(s.headers.cookie, undefined);
    assert.equal(s.headers['x-forwarded-for'], undefined);
    assert.equal(s.headers['x-custom'], 'kept');
    assert.equal(conn.validated, 1);
  } finally {
    await up.close();
  }
});

test('a GET that came with a body is forwarded without it and without its Content-Length', async () => {
  const up = await upstream(() => ({ status: 200, body: 'ok' }));
  try {
    const res = await forwardRequest({ method: 'GET', path: '/x', query: '', headers: { 'content-length': '5', 'content-type': 'text/plain' }, body: Readable.from(['hello']), target: target(up.url), credentials: new ScriptedConnection(token('t-get-body')), retry: NO_RETRIES });
    assert.equal(res.statusCode, 200);
    await res.body.resume();
    assert.equal(up.seen[0].headers['content-length'], undefined);
    assert.equal(up.seen[0].body, '');
  } finally {
    await up.close();
  }
});

test('applies header, query and basic placements; the caller cannot inject the credential query parameter', async () => {
  const up = await upstream(() => ({ status: 200, body: 'ok' }));
  try {
    const send = async (placement: CredentialPlacement, credential: ProxyCredential, query = '') => {
      const res = await forwardRequest({ method: 'GET', path: '/me', query, headers: {}, body: null, target: target(up.url, placement), credentials: new ScriptedConnection(credential), retry: NO_RETRIES });
      await res.body.resume();
      return up.seen.at(-1) as Seen;
    };
    assert.equal((await send({ in: 'header', name: 'X-Api-Key', prefix: 'Key ' }, token('k1'))).headers['x-api-key'], 'Key k1');
    assert.equal((await send({ in: 'query', name: 'api_key' }, token('k2'), 'api_key=evil&q=1')).url, '/me?q=1&api_key=k2');
    const basic = await send({ in: 'basic' }, { kind: 'basic', username: 'ann', password: 'p:w' });
    assert.equal(basic.headers.authorization, `Basic ${Buffer.from('ann:p:w').toString('base64')}`);
  } finally {
    await up.close();
  }
});

test('a provider 401 triggers one refresh and one retry with the new token, replaying the body', async () => {
  const up = await upstream((s) => (s.headers.authorization === 'Bearer fresh' ? { status: 200, body: 'done' } : { status: 401, body: '{"error":"invalid_token"}' }));
  try {
    const conn = new ScriptedConnection(token('stale'), [{ ok: true, credential: token('fresh') }]);
    const res = await forwardRequest({ method: 'PUT', path: '/doc', query: '', headers: { 'content-type': 'text/plain' }, body: Readable.from(['payload']), target: target(up.url), credentials: conn, retry: NO_RETRIES });
    assert.equal(res.statusCode, 200);
    assert.equal(res.attempts, 2);
    assert.equal(res.refreshed, true);
    await res.body.resume();
    assert.equal(conn.refreshes, 1);
    assert.deepEqual(up.seen.map((s) => [s.headers.authorization, s.body]), [['Bearer stale', 'payload'], ['Bearer fresh', 'payload']]);
  } finally {
    await up.close();
  }
});

test('still 401 after the refresh: the connection is invalidated and the caller gets INVALID_ACCESS_TOKEN without the token', async () => {
  const up = await upstream((s) => ({ status: 401, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'invalid_token', echoed: s.headers.authorization }) }));
  try {
    const conn = new ScriptedConnection(token('canary-stale-token'), [{ ok: true, credential: token('canary-fresh-token') }]);
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: conn, retry: NO_RETRIES }),
      (err: unknown) => {
        assert.ok(isPlugboardError(err));
        assert.equal(err.code, 'INVALID_ACCESS_TOKEN');
        assert.equal(err.status, 401);
        assert.deepEqual(err.providerMessage, { error: 'invalid_token', echoed: 'Bearer [redacted]' });
        assert.doesNotMatch(JSON.stringify(err) + err.message, /canary/);
        return true;
      },
    );
    assert.equal(conn.refreshes, 1);
    assert.equal(up.seen.length, 2);
    assert.equal(conn.invalidated.length, 1);
  } finally {
    await up.close();
  }
});

test('a refresh refused with invalid_grant invalidates at once, with no retry', async () => {
  const up = await upstream(() => ({ status: 401, body: 'token revoked' }));
  try {
    const conn = new ScriptedConnection(token('t'), [{ ok: false, reason: 'invalid_grant', message: 'refresh token revoked' }]);
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: conn, retry: NO_RETRIES }),
      (err: unknown) => {
        assert.ok(isPlugboardError(err));
        assert.equal(err.code, 'INVALID_ACCESS_TOKEN');
        assert.equal(err.providerMessage, 'token revoked');
        assert.match(err.message, /invalid_grant/);
        return true;
      },
    );
    assert.equal(up.seen.length, 1);
    assert.deepEqual(conn.invalidated, ['the provider refused the refresh token (invalid_grant)']);
  } finally {
    await up.close();
  }
});

test('a transient refresh failure after a 401 is reported as such and leaves the connection valid', async () => {
  const up = await upstream(() => ({ status: 401, body: 'expired' }));
  try {
    const conn = new ScriptedConnection(token('t-transient'));
    conn.refreshAfterRejection = async () => {
      throw new PlugboardError('PROVIDER_UNREACHABLE', 'The token endpoint could not be reached.');
    };
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: conn, retry: NO_RETRIES }),
      (err: unknown) => isPlugboardError(err) && err.code === 'PROVIDER_UNREACHABLE',
    );
    assert.deepEqual(conn.invalidated, []);
    // The pooled socket was freed: the next call on the same origin goes through.
    const again = await forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: new ScriptedConnection(token('t-next'), [{ ok: false, reason: 'invalid_grant', message: 'x' }]), retry: NO_RETRIES }).catch((e: unknown) => e);
    assert.ok(isPlugboardError(again) && again.code === 'INVALID_ACCESS_TOKEN');
  } finally {
    await up.close();
  }
});

test('a large provider error body is cut at the limit in providerMessage', async () => {
  const up = await upstream(() => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(200_000) }));
  try {
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: new ScriptedConnection(token('t-large')), retry: NO_RETRIES, errorBodyLimitBytes: 1000 }),
      (err: unknown) => isPlugboardError(err) && err.status === 500 && typeof err.providerMessage === 'string' && err.providerMessage.startsWith('x'.repeat(1000)) && /truncated at 1000 bytes/.test(err.providerMessage),
    );
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await up.close();
  }
});

test('other provider errors keep the provider status and carry the body in providerMessage', async () => {
  const up = await upstream(() => ({ status: 404, headers: { 'content-type': 'application/json' }, body: '{"message":"no such file"}' }));
  try {
    const conn = new ScriptedConnection(token('t'));
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/files/x', query: '', headers: {}, body: null, target: target(up.url), credentials: conn, retry: NO_RETRIES }),
      (err: unknown) => isPlugboardError(err) && err.code === 'PROVIDER_ERROR' && err.status === 404 && (err.providerMessage as { message: string }).message === 'no such file',
    );
    assert.equal(conn.invalidated.length, 0);
    assert.equal(conn.refreshes, 0);
  } finally {
    await up.close();
  }
});

test('429 is passed through with Retry-After unless the caller opted in to retries', async () => {
  // Every other request is refused: the first of each call gets 429, a retry gets 200.
  const up = await upstream((_s, i) => (i % 2 === 0 ? { status: 429, headers: { 'retry-after': '0' }, body: 'slow down' } : { status: 200, body: 'ok' }));
  try {
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: new ScriptedConnection(token('t')), retry: NO_RETRIES }),
      (err: unknown) => isPlugboardError(err) && err.status === 429 && err.headers?.['retry-after'] === '0',
    );
    await forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: new ScriptedConnection(token('t')), retry: NO_RETRIES }).then((r) => r.body.resume());
    const retry = retryOptionsFrom({ 'x-plugboard-retry': '2' }, NO_RETRIES);
    const res = await forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: new ScriptedConnection(token('t')), retry, sleep: noSleep });
    assert.equal(res.statusCode, 200);
    assert.equal(res.attempts, 2);
    await res.body.resume();
  } finally {
    await up.close();
  }
});

test('503 and 502 are retried with backoff up to the limit; a long Retry-After is not waited for', async () => {
  let failures = 2;
  const up = await upstream(() => (failures-- > 0 ? { status: failures === 1 ? 503 : 502, body: 'busy' } : { status: 200, body: 'ok' }));
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };
  try {
    const retry = { ...NO_RETRIES, maxRetries: 3, backoffBaseMs: 100 };
    const res = await forwardRequest({ method: 'POST', path: '/', query: '', headers: {}, body: Readable.from(['b']), target: target(up.url), credentials: new ScriptedConnection(token('t')), retry, sleep });
    assert.equal(res.statusCode, 200);
    assert.equal(res.attempts, 3);
    await res.body.resume();
    assert.equal(waits.length, 2);
    assert.ok(waits[0] >= 50 && waits[0] <= 100, `first wait ${waits[0]}`);
    assert.ok(waits[1] >= 100 && waits[1] <= 200, `second wait ${waits[1]}`);
    assert.deepEqual(up.seen.map((s) => s.body), ['b', 'b', 'b']);
  } finally {
    await up.close();
  }
  const slow = await upstream(() => ({ status: 429, headers: { 'retry-after': '3600' }, body: 'later' }));
  try {
    const retry = { ...NO_RETRIES, maxRetries: 3 };
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(slow.url), credentials: new ScriptedConnection(token('t')), retry, sleep }),
      (err: unknown) => isPlugboardError(err) && err.status === 429,
    );
    assert.equal(slow.seen.length, 1);
  } finally {
    await slow.close();
  }
});

test('retries stop after maxRetries and the last provider status is returned', async () => {
  const up = await upstream(() => ({ status: 504, body: 'gateway timeout' }));
  try {
    await assert.rejects(
      forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: target(up.url), credentials: new ScriptedConnection(token('t')), retry: { ...NO_RETRIES, maxRetries: 2 }, sleep: noSleep }),
      (err: unknown) => isPlugboardError(err) && err.status === 504 && /after 2 retries/.test(err.message),
    );
    assert.equal(up.seen.length, 3);
  } finally {
    await up.close();
  }
});

test('a body larger than the replay limit is not replayed: the refresh happens, the provider 401 is returned', async () => {
  const up = await upstream((s) => (s.headers.authorization === 'Bearer fresh' ? { status: 200 } : { status: 401, body: 'expired' }));
  try {
    const conn = new ScriptedConnection(token('stale'), [{ ok: true, credential: token('fresh') }]);
    const res = await forwardRequest({ method: 'POST', path: '/', query: '', headers: {}, body: Readable.from([Buffer.alloc(2048, 1)]), target: target(up.url), credentials: conn, retry: NO_RETRIES, replayLimitBytes: 1024 });
    assert.equal(res.statusCode, 401);
    await res.body.resume();
    assert.equal(conn.refreshes, 1);
    assert.equal(up.seen.length, 1);
    assert.equal(conn.invalidated.length, 0);
  } finally {
    await up.close();
  }
});

test('refuses paths that could leave the base URL', () => {
  const t = target('https://api.example.com/v1');
  for (const p of ['/../admin', '/a/../../admin', '/%2e%2e/admin', '/%2E%2E/admin', '/a/..%2fadmin', '/a/%2e%2e%2fadmin', '/a\\..\\admin', '/./x', '/%zz']) {
    assert.throws(() => buildTargetUrl(t, p, ''), (err: unknown) => isPlugboardError(err) && err.code === 'VALIDATION_FAILED', p);
  }
  assert.equal(buildTargetUrl(t, '//evil.example.com/x', '').href, 'https://api.example.com/v1/evil.example.com/x');
  assert.equal(buildTargetUrl(t, '/projects/group%2Fproject', 'a=1').href, 'https://api.example.com/v1/projects/group%2Fproject?a=1');
  assert.equal(buildTargetUrl(target('https://api.example.com/?version=2'), '/x', '').href, 'https://api.example.com/x?version=2');
});

test('refuses a plain-HTTP base URL unless the connector opted in, and a malformed base URL', () => {
  assert.throws(() => buildTargetUrl({ ...target('http://api.example.com'), allowPlainHttp: false }, '/x', ''), (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN');
  assert.throws(() => buildTargetUrl(target('not a url'), '/x', ''), (err: unknown) => isPlugboardError(err) && err.code === 'VALIDATION_FAILED');
});

test('the retry header accepts on, off and 0-5 and refuses anything else with a 400 naming it', () => {
  assert.equal(retryOptionsFrom({}, NO_RETRIES).maxRetries, 0);
  assert.equal(retryOptionsFrom({ 'x-plugboard-retry': 'on' }, NO_RETRIES).maxRetries, 3);
  assert.equal(retryOptionsFrom({ 'x-plugboard-retry': '5' }, NO_RETRIES).maxRetries, 5);
  assert.equal(retryOptionsFrom({ 'x-plugboard-retry': 'off' }, { ...NO_RETRIES, maxRetries: 2 }).maxRetries, 0);
  for (const bad of ['6', '-1', 'lots', '1.5', '']) {
    assert.throws(() => retryOptionsFrom({ 'x-plugboard-retry': bad }, NO_RETRIES), (err: unknown) => isPlugboardError(err) && err.code === 'VALIDATION_FAILED' && /x-plugboard-retry/.test(err.message), bad);
  }
});

test('a forbidden target is refused before any request leaves', async () => {
  const conn = new ScriptedConnection(token('t'));
  await assert.rejects(
    forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: { ...target('http://169.254.169.254/latest'), policy: { allowPrivateTargets: true } }, credentials: conn, retry: NO_RETRIES }),
    (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN',
  );
  await assert.rejects(
    forwardRequest({ method: 'GET', path: '/', query: '', headers: {}, body: null, target: { ...target('http://127.0.0.1:9/'), policy: { allowPrivateTargets: false } }, credentials: conn, retry: NO_RETRIES }),
    (err: unknown) => isPlugboardError(err) && err.code === 'TARGET_FORBIDDEN',
  );
});

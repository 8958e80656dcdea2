/**
 * The console's API client (`web/src/api.ts`) without a browser: `fetch`, `window.location` and `sessionStorage` are
 * stood in for, so each way a call can fail is pinned: the server's error body passed through whole, an error without
 * a JSON body, a success with a body that is not JSON, the server unreachable, and a rejected key clearing the
 * session and telling the app. Also what a successful call sends: the bearer header, JSON, and the query without
 * empty values.
 */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';

interface Sent {
  url: string;
  init: RequestInit;
}

const store = new Map<string, string>();
const sessionStorageStandIn = {
  getItem: (key: string) => store.get(key) ?? null,
  setItem: (key: string, value: string) => void store.set(key, String(value)),
  removeItem: (key: string) => void store.delete(key),
  clear: () => store.clear(),
  key: (index: number) => [...store.keys()][index] ?? null,
  get length() {
    return store.size;
  },
};
Object.defineProperty(globalThis, 'window', { value: { location: { origin: 'http://console.test' } }, configurable: true });
Object.defineProperty(globalThis, 'sessionStorage', { value: sessionStorageStandIn, configurable: true });

const { ApiError, api, onUnauthenticated, request } = await import('../../web/src/api.ts');
const { readApiKey, storeApiKey } = await import('../../web/src/session.ts');

const realFetch = globalThis.fetch;
let sent: Sent[] = [];

function answer(status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): void {
  globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    sent.push({ url: String(url), init: init ?? {} });
    return new Response(body === '' ? null : body, { status, headers });
  }) as typeof fetch;
}

beforeEach(() => {
  sent = [];
  store.clear();
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

test('the server error body reaches the page whole: code, message, request id, details, provider message', async () => {
  storeApiKey('pb_key');
  const body = {
    requestId: 'req-1',
    code: 'VALIDATION_FAILED',
    message: 'Invalid request',
    details: [{ path: 'body.name', message: 'expected a name' }],
    providerMessage: { error: 'invalid_request' },
  };
  answer(400, JSON.stringify(body));
  const error = await api.post('/instances', { name: '' }).then(
    () => assert.fail('a 400 must reject'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.equal(error.code, 'VALIDATION_FAILED');
  assert.equal(error.requestId, 'req-1');
  assert.deepEqual(error.details, body.details);
  assert.deepEqual(error.providerMessage, body.providerMessage);
});

test('an error without a JSON body becomes HTTP_<status> with the request id header', async () => {
  answer(502, '<html>Bad gateway</html>', { 'content-type': 'text/html', 'x-request-id': 'req-502' });
  await assert.rejects(api.get('/elements'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'HTTP_502');
    assert.equal(error.requestId, 'req-502');
    assert.match(error.message, /502/);
    return true;
  });
});

test('a JSON error body without code and message is not trusted as an error body', async () => {
  answer(500, JSON.stringify({ oops: true }));
  await assert.rejects(api.get('/elements'), (error: unknown) => error instanceof ApiError && error.code === 'HTTP_500');
});

test('a success whose body is not JSON is reported as BAD_RESPONSE, not parsed into garbage', async () => {
  answer(200, 'not json', { 'content-type': 'text/plain' });
  await assert.rejects(api.get('/elements'), (error: unknown) => error instanceof ApiError && error.code === 'BAD_RESPONSE');
});

test('an unreachable server is NETWORK_ERROR with advice, status 0', async () => {
  globalThis.fetch = (async () => {
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  await assert.rejects(api.get('/elements'), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 0);
    assert.equal(error.code, 'NETWORK_ERROR');
    assert.match(error.message, /could not be reached/);
    return true;
  });
});

test('a 401 UNAUTHENTICATED forgets the stored key and tells the app', async () => {
  storeApiKey('pb_revoked');
  let told = 0;
  const stop = onUnauthenticated(() => {
    told += 1;
  });
  answer(401, JSON.stringify({ requestId: 'r', code: 'UNAUTHENTICATED', message: 'Missing, malformed, unknown or revoked credentials' }));
  await assert.rejects(api.get('/instances'));
  stop();
  assert.equal(readApiKey(), null);
  assert.equal(told, 1);
});

test('a 403 FORBIDDEN keeps the key: the key is fine, it lacks a permission', async () => {
  storeApiKey('pb_read_only');
  let told = 0;
  const stop = onUnauthenticated(() => {
    told += 1;
  });
  answer(403, JSON.stringify({ requestId: 'r', code: 'FORBIDDEN', message: 'needs instances:write' }));
  await assert.rejects(api.post('/instances/x/revoke'));
  stop();
  assert.equal(readApiKey(), 'pb_read_only');
  assert.equal(told, 0);
});

test('checking a candidate key at sign-in never clears the session or signals the app on 401', async () => {
  storeApiKey('pb_current');
  let told = 0;
  const stop = onUnauthenticated(() => {
    told += 1;
  });
  answer(401, JSON.stringify({ requestId: 'r', code: 'UNAUTHENTICATED', message: 'unknown key' }));
  await assert.rejects(request('GET', '/elements', { apiKey: 'pb_typo' }));
  stop();
  assert.equal(readApiKey(), 'pb_current');
  assert.equal(told, 0);
});

test('a call sends the bearer key, JSON, no cookies, and drops empty query values', async () => {
  storeApiKey('pb_key');
  answer(200, JSON.stringify({ instances: [], nextCursor: null }));
  await api.get('/instances', { element: 'box', status: '', externalUserId: undefined, limit: 50 });
  await api.patch('/instances/a%2Fb', { name: 'n' });
  assert.equal(sent[0].url, '/instances?element=box&limit=50');
  const headers = sent[1].init.headers as Record<string, string>;
  assert.equal(headers.Authorization, 'Bearer pb_key');
  assert.equal(headers['Content-Type'], 'application/json');
  assert.equal(sent[1].init.body, '{"name":"n"}');
  assert.equal(sent[1].init.credentials, 'omit');
});

test('without a stored key no Authorization header is sent at all', async () => {
  answer(200, '{}');
  await api.get('/elements');
  assert.equal((sent[0].init.headers as Record<string, string>).Authorization, undefined);
});

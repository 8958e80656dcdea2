/**
 * Header sanitising in both directions: hop-by-hop fields (including those named in Connection), caller identity
 * (Authorization, Host, Cookie, Forwarded, X-Forwarded-*), Plugboard control headers and provider Set-Cookie never
 * cross the proxy; ordinary headers pass unchanged.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeRequestHeaders, sanitizeResponseHeaders } from '../../src/proxy/headers.ts';

test('forwards ordinary request headers unchanged', () => {
  const out = sanitizeRequestHeaders({ accept: 'application/json', 'content-type': 'application/json', 'x-request-id': 'abc', 'if-none-match': '"v1"' });
  assert.deepEqual(out, { accept: 'application/json', 'content-type': 'application/json', 'x-request-id': 'abc', 'if-none-match': '"v1"' });
});

test('strips caller Authorization, Host, Cookie, Forwarded and every X-Forwarded-* header', () => {
  const out = sanitizeRequestHeaders({
    authorization: 'User u1, Element e1',
    host: 'plugboard.local',
    cookie: 'session=1',
    forwarded: 'for=10.0.0.1',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'http',
    'X-Forwarded-Prefix': '/x',
    'x-real-ip': '10.0.0.1',
    accept: '*/*',
  });
  assert.deepEqual(out, { accept: '*/*' });
});

test('strips hop-by-hop headers and the ones named in Connection', () => {
  const out = sanitizeRequestHeaders({
    connection: 'keep-alive, X-Secret-Hop, Upgrade',
    'keep-alive': 'timeout=5',
    'proxy-authorization': 'Basic abc',
    'proxy-connection': 'keep-alive',
    te: 'trailers',
    trailer: 'x-checksum',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'x-secret-hop': 'must go',
    expect: '100-continue',
    'content-length': '12',
  });
  assert.deepEqual(out, { 'content-length': '12' });
});

test('consumes Plugboard control headers instead of forwarding them', () => {
  const out = sanitizeRequestHeaders({ 'x-plugboard-retry': 'true', 'X-Plugboard-Whatever': '1', accept: 'text/plain' });
  assert.deepEqual(out, { accept: 'text/plain' });
});

test('skips undefined values and keeps multi-valued headers', () => {
  const out = sanitizeRequestHeaders({ accept: undefined, 'x-multi': ['a', 'b'] });
  assert.deepEqual(out, { 'x-multi': ['a', 'b'] });
});

test('response: drops hop-by-hop headers and Set-Cookie, keeps the rest', () => {
  const out = sanitizeResponseHeaders({
    'content-type': 'application/json',
    'content-length': '2',
    'set-cookie': ['a=1', 'b=2'],
    connection: 'close, x-hop',
    'x-hop': '1',
    'transfer-encoding': 'chunked',
    'keep-alive': 'timeout=5',
    'retry-after': '3',
    etag: '"v1"',
  });
  assert.deepEqual(out, { 'content-type': 'application/json', 'content-length': '2', 'retry-after': '3', etag: '"v1"' });
});

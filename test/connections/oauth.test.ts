/**
 * The OAuth 2.0 client of src/auth/oauth.ts against a scripted token endpoint on loopback: authorization URL shape,
 * callback validation (state, RFC 9207 `iss`, `access_denied`), client authentication methods, PKCE, and the
 * non-standard token responses real providers send (form bodies, nested fields, errors with HTTP 200, missing expiry).
 * Each failure must map to its Plugboard code and carry no secret.
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildAuthorizationUrl, clientCredentialsGrant, createPkcePair, exchangeCode, refreshTokens, validateCallback, type OAuthProvider,
} from '../../src/auth/oauth.ts';
import { PlugboardError, type ErrorCode } from '../../src/core/errors.ts';

interface Seen { headers: IncomingMessage['headers']; form: URLSearchParams }
let server: Server;
let base: string;
let reply: { status: number; type: string; body: string; delayMs?: number } = { status: 200, type: 'application/json', body: '{}' };
let seen: Seen[] = [];

before(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      seen.push({ headers: req.headers, form: new URLSearchParams(raw) });
      setTimeout(() => {
        res.writeHead(reply.status, { 'content-type': reply.type });
        res.end(reply.body);
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

function provider(overrides: Partial<OAuthProvider> = {}): OAuthProvider {
  return {
    authorizationUrl: `${base}/authorize`, tokenUrl: `${base}/token`, scopes: ['read', 'write'], scopeSeparator: ',', pkce: true,
    clientAuth: 'client_secret_basic', authorizeParams: { access_type: 'offline' }, tokenParams: {}, allowInsecureRequests: true, allowPrivateTargets: true, ...overrides,
  };
}
const client = { clientId: 'client-1', clientSecret: 'secret-canary-123' };
const NOW = Date.parse('2026-01-01T00:00:00Z');

function json(status: number, body: unknown): void {
  reply = { status, type: 'application/json', body: JSON.stringify(body) };
  seen = [];
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<PlugboardError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PlugboardError, `expected a PlugboardError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    const shown = JSON.stringify({ message: error.message, details: error.details, providerMessage: error.providerMessage });
    assert.ok(!shown.includes('secret-canary-123') && !shown.includes('code-canary'), 'no secret in the error');
    return error;
  }
  assert.fail(`expected ${code}`);
}

test('authorization URL carries PKCE S256, state, joined scopes and extra parameters', async () => {
  const { verifier, challenge } = await createPkcePair();
  assert.match(verifier, /^[A-Za-z0-9_-]{43,128}$/);
  const url = new URL(buildAuthorizationUrl(provider(), 'client-1', { redirectUri: 'http://127.0.0.1/cb', state: 's1', codeChallenge: challenge }));
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('code_challenge'), challenge);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('scope'), 'read,write');
  assert.equal(url.searchParams.get('state'), 's1');
  assert.equal(url.searchParams.get('access_type'), 'offline');
  const noPkce = new URL(buildAuthorizationUrl(provider(), 'client-1', { redirectUri: 'http://127.0.0.1/cb', state: 's1', codeChallenge: null, scope: 'only' }));
  assert.equal(noPkce.searchParams.get('code_challenge'), null);
  assert.equal(noPkce.searchParams.get('scope'), 'only');
});

test('plain-HTTP provider without the opt-in is refused', async () => {
  assert.throws(() => buildAuthorizationUrl(provider({ allowInsecureRequests: false }), 'c', { redirectUri: 'x', state: 's', codeChallenge: null }),
    (e: unknown) => e instanceof PlugboardError && e.code === 'TARGET_FORBIDDEN');
  await rejectsWith(exchangeCode(provider({ allowInsecureRequests: false, authorizationUrl: 'https://example.test/a' }), client, { code: 'c', redirectUri: 'x', codeVerifier: null }), 'TARGET_FORBIDDEN');
});

test('a loopback token endpoint without the private-network opt-in is refused before any request', async () => {
  json(200, { access_token: 'at', token_type: 'bearer' });
  await rejectsWith(exchangeCode(provider({ allowPrivateTargets: false }), client, { code: 'c', redirectUri: 'x', codeVerifier: null }), 'TARGET_FORBIDDEN');
  assert.equal(seen.length, 0);
});

test('callback: code returned when state matches and iss is the expected issuer', () => {
  assert.equal(validateCallback(provider(), 'c', new URLSearchParams({ code: 'abc', state: 's' }), 's'), 'abc');
  assert.equal(validateCallback(provider(), 'c', new URLSearchParams({ code: 'abc', state: 's', iss: base }), 's'), 'abc');
  assert.equal(validateCallback(provider({ issuer: 'https://issuer.test' }), 'c', new URLSearchParams({ code: 'abc', state: 's', iss: 'https://issuer.test' }), 's'), 'abc');
});

test('callback: negative cases', () => {
  const code = (params: Record<string, string>, expected = 's') => {
    try {
      validateCallback(provider(), 'c', new URLSearchParams(params), expected);
    } catch (e) {
      assert.ok(e instanceof PlugboardError);
      return e.code;
    }
    return 'none';
  };
  assert.equal(code({ error: 'access_denied', state: 's' }), 'OAUTH_ERROR');
  assert.equal(code({ code: 'abc', state: 's', iss: 'https://evil.test' }), 'OAUTH_ERROR');
  assert.equal(code({ code: 'abc', state: 'other' }), 'OAUTH_STATE_INVALID');
  assert.equal(code({ code: 'abc' }), 'OAUTH_STATE_INVALID');
  assert.equal(code({ state: 's' }), 'OAUTH_ERROR');
});

test('code exchange: standard response, client_secret_basic, verifier sent, expiry computed', async () => {
  json(200, { access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 3600, scope: 'read' });
  const tokens = await exchangeCode(provider(), client, { code: 'code-canary', redirectUri: 'http://127.0.0.1/cb', codeVerifier: 'v'.repeat(43) }, { now: () => NOW });
  assert.deepEqual(tokens, { accessToken: 'at', refreshToken: 'rt', tokenType: 'bearer', expiresAt: '2026-01-01T01:00:00.000Z', scope: 'read' });
  assert.equal(seen[0].form.get('grant_type'), 'authorization_code');
  assert.equal(seen[0].form.get('code_verifier'), 'v'.repeat(43));
  assert.equal(seen[0].form.get('client_secret'), null);
  // @see RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
  const basic = Buffer.from(String(seen[0].headers.authorization).replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
  assert.deepEqual(basic, ['client-1', 'secret-canary-123']);
});

test('client_secret_post puts the credentials in the body', async () => {
  json(200, { access_token: 'at', token_type: 'bearer' });
  await exchangeCode(provider({ clientAuth: 'client_secret_post' }), client, { code: 'c', redirectUri: 'x', codeVerifier: null });
  assert.equal(seen[0].form.get('client_secret'), 'secret-canary-123');
  assert.equal(seen[0].headers.authorization, undefined);
  assert.equal(seen[0].form.get('code_verifier'), null);
});

test('a provider that names the client id otherwise (TikTok: client_key) gets it under that name too', async () => {
  const named = provider({ clientAuth: 'client_secret_post', clientIdParam: 'client_key' });
  const url = new URL(buildAuthorizationUrl(named, 'client-1', { redirectUri: 'http://127.0.0.1/cb', state: 's1', codeChallenge: null }));
  assert.equal(url.searchParams.get('client_key'), 'client-1');
  assert.equal(url.searchParams.get('client_id'), 'client-1');
  json(200, { access_token: 'at', refresh_token: 'rt', token_type: 'bearer' });
  await exchangeCode(named, client, { code: 'c', redirectUri: 'x', codeVerifier: null });
  assert.equal(seen[0].form.get('client_key'), 'client-1');
  json(200, { access_token: 'at2', token_type: 'bearer' });
  await refreshTokens(named, client, 'rt');
  assert.equal(seen[0].form.get('client_key'), 'client-1');
  assert.equal(seen[0].form.get('grant_type'), 'refresh_token');
  const plain = new URL(buildAuthorizationUrl(provider(), 'client-1', { redirectUri: 'http://127.0.0.1/cb', state: 's1', codeChallenge: null }));
  assert.equal(plain.searchParams.get('client_key'), null);
});

test('non-standard: form-encoded body, missing token_type, no expiry', async () => {
  reply = { status: 200, type: 'application/x-www-form-urlencoded', body: 'access_token=formtok&scope=repo' };
  const tokens = await exchangeCode(provider(), client, { code: 'c', redirectUri: 'x', codeVerifier: null });
  assert.equal(tokens.accessToken, 'formtok');
  assert.equal(tokens.tokenType, 'bearer');
  assert.equal(tokens.expiresAt, null);
  assert.equal(tokens.refreshToken, null);
});

test('non-standard: nested fields through the mapping, expiry as string, absolute expiry', async () => {
  json(200, { ok: true, authed_user: { access_token: 'nested', refresh_token: 'nr', expires_in: '60' } });
  const mapping = { accessToken: 'authed_user.access_token', refreshToken: 'authed_user.refresh_token', expiresIn: 'authed_user.expires_in', okFlag: 'ok' };
  const tokens = await exchangeCode(provider({ tokenResponse: mapping }), client, { code: 'c', redirectUri: 'x', codeVerifier: null }, { now: () => NOW });
  assert.deepEqual([tokens.accessToken, tokens.refreshToken, tokens.expiresAt], ['nested', 'nr', '2026-01-01T00:01:00.000Z']);
  json(200, { access_token: 'a', expires_at: '2026-01-01T02:00:00Z' });
  const absolute = await exchangeCode(provider({ tokenResponse: { expiresAt: 'expires_at' } }), client, { code: 'c', redirectUri: 'x', codeVerifier: null }, { now: () => NOW });
  assert.equal(absolute.expiresAt, '2026-01-01T02:00:00.000Z');
});

test('non-standard: error sent with HTTP 200 (ok: false) is an OAuth error', async () => {
  json(200, { ok: false, error: 'invalid_code' });
  const error = await rejectsWith(exchangeCode(provider({ tokenResponse: { okFlag: 'ok' } }), client, { code: 'code-canary', redirectUri: 'x', codeVerifier: null }), 'OAUTH_ERROR');
  assert.match(error.message, /invalid_code/);
});

test('a 200 without an access token names the mapping to fix', async () => {
  json(200, { token: 'elsewhere' });
  const error = await rejectsWith(exchangeCode(provider(), client, { code: 'c', redirectUri: 'x', codeVerifier: null }), 'PROVIDER_ERROR');
  assert.match(error.message, /tokenResponse/);
});

test('token endpoint errors: invalid_grant, 500, HTML, unreachable, timeout', async () => {
  json(400, { error: 'invalid_grant', error_description: 'code expired' });
  const refused = await rejectsWith(exchangeCode(provider(), client, { code: 'code-canary', redirectUri: 'x', codeVerifier: null }), 'OAUTH_ERROR');
  assert.deepEqual(refused.providerMessage, { status: 400, error: 'invalid_grant', error_description: 'code expired' });
  json(500, { error: 'server_error' });
  await rejectsWith(exchangeCode(provider(), client, { code: 'c', redirectUri: 'x', codeVerifier: null }), 'PROVIDER_ERROR');
  reply = { status: 502, type: 'text/html', body: '<html>bad gateway</html>' };
  await rejectsWith(refreshTokens(provider(), client, 'rt'), 'PROVIDER_ERROR');
  await rejectsWith(exchangeCode(provider({ tokenUrl: 'http://127.0.0.1:1/token' }), client, { code: 'c', redirectUri: 'x', codeVerifier: null }), 'PROVIDER_UNREACHABLE');
  reply = { status: 200, type: 'application/json', body: '{"access_token":"a","token_type":"bearer"}', delayMs: 300 };
  await rejectsWith(exchangeCode(provider(), client, { code: 'c', redirectUri: 'x', codeVerifier: null }, { timeoutMs: 50 }), 'PROVIDER_UNREACHABLE');
});

test('a token answer larger than 256 KB is a provider error that names its status, not a parse of a cut body', async () => {
  reply = { status: 200, type: 'application/json', body: `{"access_token":"${'a'.repeat(300 * 1024)}","token_type":"bearer"}` };
  const tooLarge = await rejectsWith(exchangeCode(provider(), client, { code: 'c', redirectUri: 'x', codeVerifier: null }), 'PROVIDER_ERROR');
  assert.match(tooLarge.message, /more than 262144 bytes/);
  assert.deepEqual(tooLarge.providerMessage, { status: 200 });
});

test('refresh keeps the old refresh token when the provider does not rotate it, and uses refreshUrl', async () => {
  json(200, { access_token: 'new', token_type: 'bearer', expires_in: 10 });
  const tokens = await refreshTokens(provider({ refreshUrl: `${base}/refresh` }), client, 'old-rt');
  assert.equal(tokens.refreshToken, 'old-rt');
  assert.equal(seen[0].form.get('grant_type'), 'refresh_token');
  assert.equal(seen[0].form.get('refresh_token'), 'old-rt');
  json(200, { access_token: 'new', token_type: 'bearer', refresh_token: 'rotated' });
  assert.equal((await refreshTokens(provider(), client, 'old-rt')).refreshToken, 'rotated');
});

test('client credentials sends the scope and token parameters', async () => {
  json(200, { access_token: 'cc', token_type: 'bearer', expires_in: 120 });
  const tokens = await clientCredentialsGrant(provider({ tokenParams: { audience: 'api' }, authorizationUrl: undefined }), client, undefined);
  assert.equal(tokens.accessToken, 'cc');
  assert.equal(seen[0].form.get('grant_type'), 'client_credentials');
  assert.equal(seen[0].form.get('scope'), 'read,write');
  assert.equal(seen[0].form.get('audience'), 'api');
});

test('property: any token endpoint body normalizes without throwing into RFC 6749 §5.1 / §5.2 shape', async () => {
  const { normalizeTokenBody } = await import('../../src/auth/oauth.ts');
  const fc = (await import('fast-check')).default;
  const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }));
  const body = fc.record({
    access_token: value, refresh_token: value, token_type: value, expires_in: value, scope: value, error: value, ok: value,
  }, { requiredKeys: [] });
  fc.assert(fc.property(body, fc.constantFrom(200, 400, 500), (input, status) => {
    const out = normalizeTokenBody(input as Record<string, unknown>, status, { okFlag: 'ok' }, NOW);
    if (out.status !== 200) {
      if (status === 200) assert.equal(typeof out.body.error, 'string', 'an error hidden in a 200 surfaces as an error code');
      return;
    }
    assert.ok(out.body.token_type === 'bearer' || (typeof out.body.token_type === 'string' && ['bearer', 'dpop'].includes(out.body.token_type.toLowerCase())));
    if (out.body.expires_in !== undefined) assert.ok(typeof out.body.expires_in === 'number' && Number.isFinite(out.body.expires_in) && out.body.expires_in > 0);
    if (out.body.scope !== undefined) assert.equal(typeof out.body.scope, 'string');
    if (out.body.refresh_token !== undefined) assert.notEqual(out.body.refresh_token, '');
  }), { numRuns: 500 });
});

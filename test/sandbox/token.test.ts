/**
 * The sandbox token endpoint: each grant (authorization code with PKCE, refresh token with and without rotation,
 * client credentials), reuse detection killing the family, lifetimes and the RFC 6749 §5.2 error answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { authorizeRedirect, basic, bearer, call, connect, pkce, postForm, REDIRECT } from './oauth-client.ts';

let sb: Sandbox;
let tokenUrl: string;
const DEMO = basic('plugboard-demo', 'plugboard-demo-secret');

before(async () => {
  sb = await startSandbox();
  tokenUrl = `${sb.url}/oauth/token`;
});
after(() => sb.close());

async function codeFor(clientId: string, extra: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const q = await authorizeRedirect(sb, { client_id: clientId, sandbox_auto: 'approve', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
  return { code: q.get('code') ?? '', verifier };
}

describe('authorization_code', () => {
  it('issues a bearer pair with lifetimes and no-store; the access token works at /api/me as the approving user', async () => {
    const { code, verifier } = await codeFor('plugboard-demo', { login_hint: 'carol', scope: 'profile files.read' });
    const res = await postForm(tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: DEMO });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const t = res.json();
    assert.equal(t.token_type, 'Bearer');
    assert.equal(t.expires_in, 3600);
    assert.equal(t.scope, 'profile files.read');
    assert.match(t.refresh_token, /^sbx_rt_/);
    const me = await call(`${sb.url}/api/me`, { headers: bearer(t.access_token) });
    assert.equal(me.json().username, 'carol');
  });

  it('a public client exchanges with client_id and the verifier, and its refresh tokens rotate', async () => {
    const t = await connect(sb, 'plugboard-public', null);
    assert.equal(sb.admin.tokenState(t.access_token).clientId, 'plugboard-public');
    const r = (await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'plugboard-public' })).json();
    assert.notEqual(r.refresh_token, t.refresh_token);
    assert.equal(sb.admin.tokenState(t.refresh_token).state, 'rotated');
  });

  it('client_secret_post works as well as Basic', async () => {
    const { code, verifier } = await codeFor('plugboard-demo');
    const res = await postForm(tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: 'plugboard-demo', client_secret: 'plugboard-demo-secret' });
    assert.equal(res.status, 200);
  });

  it('rejects a wrong verifier, a missing verifier and a malformed verifier', async () => {
    for (const verifier of ['x'.repeat(43), undefined, 'short']) {
      const { code } = await codeFor('plugboard-demo');
      const params: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT };
      if (verifier !== undefined) params.code_verifier = verifier;
      const res = await postForm(tokenUrl, params, { authorization: DEMO });
      assert.equal(res.status, 400);
      assert.equal(res.json().error, 'invalid_grant');
    }
  });

  it('rejects a verifier when the request had no challenge', async () => {
    const q = await authorizeRedirect(sb, { client_id: 'plugboard-demo', sandbox_auto: 'approve' });
    const res = await postForm(tokenUrl, { grant_type: 'authorization_code', code: q.get('code') ?? '', redirect_uri: REDIRECT, code_verifier: 'v'.repeat(43) }, { authorization: DEMO });
    assert.equal(res.json().error, 'invalid_grant');
  });

  it('a replayed code fails and revokes what the first exchange issued', async () => {
    const { code, verifier } = await codeFor('plugboard-demo');
    const params = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
    const first = (await postForm(tokenUrl, params, { authorization: DEMO })).json();
    const replay = await postForm(tokenUrl, params, { authorization: DEMO });
    assert.equal(replay.json().error, 'invalid_grant');
    assert.equal(sb.admin.tokenState(first.access_token).state, 'revoked');
    assert.equal(sb.admin.tokenState(first.refresh_token).revokedBy, 'code_replay');
  });

  it('rejects a code after 60 seconds, for another client, or with another redirect URI', async () => {
    const a = await codeFor('plugboard-demo');
    sb.admin.advanceTime(61);
    const expired = await postForm(tokenUrl, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier }, { authorization: DEMO });
    assert.match(expired.json().error_description, /expired/);
    const b = await codeFor('plugboard-demo');
    const foreign = await postForm(tokenUrl, { grant_type: 'authorization_code', code: b.code, redirect_uri: REDIRECT, code_verifier: b.verifier }, { authorization: basic('plugboard-rotating', 'plugboard-rotating-secret') });
    assert.equal(foreign.json().error, 'invalid_grant');
    const c = await codeFor('plugboard-demo');
    const otherUri = await postForm(tokenUrl, { grant_type: 'authorization_code', code: c.code, redirect_uri: 'http://127.0.0.1:10/other', code_verifier: c.verifier }, { authorization: DEMO });
    assert.equal(otherUri.json().error, 'invalid_grant');
    const missingUri = await postForm(tokenUrl, { grant_type: 'authorization_code', code: c.code, code_verifier: c.verifier }, { authorization: DEMO });
    assert.equal(missingUri.json().error, 'invalid_grant');
  });

  it('missing code is invalid_request, an unknown code invalid_grant', async () => {
    assert.equal((await postForm(tokenUrl, { grant_type: 'authorization_code' }, { authorization: DEMO })).json().error, 'invalid_request');
    assert.equal((await postForm(tokenUrl, { grant_type: 'authorization_code', code: 'nope' }, { authorization: DEMO })).json().error, 'invalid_grant');
  });
});

describe('refresh_token', () => {
  it('without rotation returns a new access token and the same refresh token', async () => {
    const t = await connect(sb, 'plugboard-demo', 'plugboard-demo-secret');
    const res = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: DEMO });
    const r = res.json();
    assert.equal(res.status, 200);
    assert.notEqual(r.access_token, t.access_token);
    assert.equal(r.refresh_token, t.refresh_token);
    assert.equal(sb.admin.tokenState(t.access_token).state, 'active', 'the old access token lives until it expires');
  });

  it('may narrow the scope but not widen it', async () => {
    const t = await connect(sb, 'plugboard-demo', 'plugboard-demo-secret', { scope: 'profile files.read' });
    const narrow = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'profile' }, { authorization: DEMO });
    assert.equal(narrow.json().scope, 'profile');
    const wide = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'profile files.write' }, { authorization: DEMO });
    assert.equal(wide.json().error, 'invalid_scope');
  });

  it('with rotation returns a new refresh token and rotates the old one out', async () => {
    const auth = basic('plugboard-rotating', 'plugboard-rotating-secret');
    const t = await connect(sb, 'plugboard-rotating', 'plugboard-rotating-secret');
    const r1 = (await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: auth })).json();
    assert.notEqual(r1.refresh_token, t.refresh_token);
    assert.equal(sb.admin.tokenState(t.refresh_token).state, 'rotated');
    const r2 = (await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: r1.refresh_token }, { authorization: auth })).json();
    assert.ok(r2.access_token);
  });

  it('reuse of a rotated refresh token kills the whole family (RFC 9700 §4.14.2)', async () => {
    const auth = basic('plugboard-rotating', 'plugboard-rotating-secret');
    const t = await connect(sb, 'plugboard-rotating', 'plugboard-rotating-secret');
    const other = await connect(sb, 'plugboard-rotating', 'plugboard-rotating-secret');
    const r1 = (await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: auth })).json();
    const reuse = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: auth });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json().error, 'invalid_grant');
    assert.match(reuse.json().error_description, /reuse/);
    for (const tok of [t.access_token, r1.access_token, r1.refresh_token]) assert.equal(sb.admin.tokenState(tok).state, 'revoked');
    assert.equal(sb.admin.tokenState(r1.refresh_token).revokedBy, 'reuse_detected');
    const after = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: r1.refresh_token }, { authorization: auth });
    assert.equal(after.json().error, 'invalid_grant', 'the newest refresh token died too');
    assert.equal(sb.admin.tokenState(other.refresh_token).state, 'active', 'another authorization is untouched');
    const me = await call(`${sb.url}/api/me`, { headers: bearer(r1.access_token) });
    assert.equal(me.status, 401);
  });

  it('two concurrent refreshes with one rotating token: one wins, the other is reuse and kills the family', async () => {
    const auth = basic('plugboard-rotating', 'plugboard-rotating-secret');
    const t = await connect(sb, 'plugboard-rotating', 'plugboard-rotating-secret');
    const results = await Promise.all([1, 2].map(() => postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: auth })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400]);
    const winner = results.find((r) => r.status === 200)?.json();
    assert.equal(sb.admin.tokenState(winner.refresh_token).state, 'revoked', 'the race is why refresh must be serialised per connection');
  });

  it('rejects revoked, expired, foreign, unknown refresh tokens and access tokens', async () => {
    const t = await connect(sb, 'plugboard-demo', 'plugboard-demo-secret');
    sb.admin.revokeToken(t.refresh_token, 'token');
    assert.match((await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, { authorization: DEMO })).json().error_description, /revoked/);
    const short = await startSandbox({ refreshTokenTtl: 10 });
    try {
      const s = short.admin.issueTokens({ clientId: 'plugboard-demo' });
      short.admin.advanceTime(11);
      const res = await postForm(`${short.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: s.refresh_token ?? '' }, { authorization: DEMO });
      assert.match(res.json().error_description, /expired/);
    } finally {
      await short.close();
    }
    const u = await connect(sb, 'plugboard-demo', 'plugboard-demo-secret');
    const foreign = await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: u.refresh_token }, { authorization: basic('plugboard-rotating', 'plugboard-rotating-secret') });
    assert.equal(foreign.json().error, 'invalid_grant');
    assert.equal((await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: u.access_token }, { authorization: DEMO })).json().error, 'invalid_grant');
    assert.equal((await postForm(tokenUrl, { grant_type: 'refresh_token', refresh_token: 'sbx_rt_nope' }, { authorization: DEMO })).json().error, 'invalid_grant');
    assert.equal((await postForm(tokenUrl, { grant_type: 'refresh_token' }, { authorization: DEMO })).json().error, 'invalid_request');
  });
});

describe('lifetimes', () => {
  it('access tokens expire after the configured lifetime; per-client lifetimes win', async () => {
    const s = await startSandbox({ accessTokenTtl: 30 });
    try {
      const t = s.admin.issueTokens({ clientId: 'plugboard-demo' });
      assert.equal(t.expires_in, 30);
      s.admin.updateClient('plugboard-rotating', { accessTokenTtl: 5 });
      assert.equal(s.admin.issueTokens({ clientId: 'plugboard-rotating' }).expires_in, 5);
      s.admin.advanceTime(31);
      assert.equal(s.admin.tokenState(t.access_token).state, 'expired');
      const me = await call(`${s.url}/api/me`, { headers: bearer(t.access_token) });
      assert.equal(me.status, 401);
      assert.match(String(me.headers['www-authenticate']), /error="invalid_token"/);
      assert.match(String(me.headers['www-authenticate']), /expired/);
      s.admin.updateClient('plugboard-demo', { accessTokenTtl: 0 });
      const forever = s.admin.issueTokens({ clientId: 'plugboard-demo' });
      assert.equal(forever.expires_in, undefined);
      s.admin.advanceTime(10 * 365 * 24 * 3600);
      assert.equal(s.admin.tokenState(forever.access_token).state, 'active');
    } finally {
      await s.close();
    }
  });
});

describe('client_credentials', () => {
  it('issues an access token without refresh token for a confidential client', async () => {
    const res = await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'files.read' }, { authorization: DEMO });
    const t = res.json();
    assert.equal(res.status, 200);
    assert.equal(t.refresh_token, undefined);
    assert.equal(t.scope, 'files.read');
    const files = await call(`${sb.url}/api/files`, { headers: bearer(t.access_token) });
    assert.equal(files.status, 200);
    const me = await call(`${sb.url}/api/me`, { headers: bearer(t.access_token) });
    assert.equal(me.status, 403, 'no profile scope');
  });

  it('refuses public clients and unknown scopes', async () => {
    assert.equal((await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: 'plugboard-public' })).status, 401);
    assert.equal((await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'root' }, { authorization: DEMO })).json().error, 'invalid_scope');
  });
});

describe('client authentication and request errors', () => {
  it('wrong secret, unknown client, malformed Basic: 401 invalid_client with a Basic challenge', async () => {
    for (const authorization of [basic('plugboard-demo', 'wrong'), basic('nobody', 'x'), 'Basic !!!notbase64']) {
      const res = await postForm(tokenUrl, { grant_type: 'client_credentials' }, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.json().error, 'invalid_client');
      assert.equal(res.headers['www-authenticate'], 'Basic realm="sandbox"');
    }
  });

  it('no client authentication at all, or two methods at once', async () => {
    assert.equal((await postForm(tokenUrl, { grant_type: 'client_credentials' })).json().error, 'invalid_client');
    const both = await postForm(tokenUrl, { grant_type: 'client_credentials', client_secret: 'plugboard-demo-secret' }, { authorization: DEMO });
    assert.equal(both.json().error, 'invalid_request');
    const confidentialWithoutSecret = await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: 'plugboard-demo' });
    assert.equal(confidentialWithoutSecret.status, 401);
  });

  it('missing or unsupported grant_type, repeated parameters, JSON bodies', async () => {
    assert.equal((await postForm(tokenUrl, {}, { authorization: DEMO })).json().error, 'invalid_request');
    assert.equal((await postForm(tokenUrl, { grant_type: 'password' }, { authorization: DEMO })).json().error, 'unsupported_grant_type');
    const repeated = await call(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: DEMO }, body: 'grant_type=client_credentials&grant_type=password' });
    assert.equal(repeated.json().error, 'invalid_request');
    const json = await call(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: DEMO }, body: '{"grant_type":"client_credentials"}' });
    assert.equal(json.status, 400);
    assert.equal(json.json().error, 'invalid_request');
  });

  it('GET on the token endpoint is 405 with Allow', async () => {
    const res = await call(tokenUrl);
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
  });
});

/**
 * The sandbox revoke styles that delete a token or grant by path, uninstall an app, deauthorize an account or end a
 * user's sessions (revoke-grants.ts), plus the 204 success variant of RFC 7009: for each, the request shape it
 * accepts, its success answer, exactly what dies, its answer for a dead token and its refusals (bad credentials, a
 * client of another style, a foreign token or grant).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REVOKE_STYLES, startSandbox, SandboxInputError, type IssuedTokens, type Sandbox } from '../../src/sandbox/index.ts';
import { basic, bearer, call, postForm, sendJson } from './oauth-client.ts';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(() => sb.close());

function state(token: string | undefined): string {
  return sb.admin.tokenState(token ?? '').state;
}

/** Alice's two authorizations of `clientId`, Bob's one, and Alice's at another client. */
function world(clientId: string): { a: IssuedTokens; b: IssuedTokens; bob: IssuedTokens; other: IssuedTokens } {
  return {
    a: sb.admin.issueTokens({ clientId, userId: 'alice' }),
    b: sb.admin.issueTokens({ clientId, userId: 'alice' }),
    bob: sb.admin.issueTokens({ clientId, userId: 'bob' }),
    other: sb.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'alice' }),
  };
}

type World = ReturnType<typeof world>;

/** Every token of Alice's two authorizations died; Bob's and the other client's live. */
function assertAppAuthorizationGone(w: World): void {
  for (const t of [w.a.access_token, w.a.refresh_token, w.b.access_token, w.b.refresh_token]) assert.equal(state(t), 'revoked');
  for (const t of [w.bob.access_token, w.bob.refresh_token, w.other.access_token, w.other.refresh_token]) assert.equal(state(t), 'active');
}

function assertNothingDied(w: World): void {
  for (const t of [w.a, w.b, w.bob, w.other].flatMap((x) => [x.access_token, x.refresh_token])) assert.equal(state(t), 'active');
}

describe('revokeSuccessStatus 204: RFC 7009 as Reddit answers it', () => {
  it('a 204 client gets 204 for a revoked and for an unknown token; the default stays 200', async () => {
    sb.admin.createClient({ id: 'reddit-like', secret: 'reddit-like-secret', revokeStyle: 'rfc7009-basic', revokeSuccessStatus: 204 });
    const t = sb.admin.issueTokens({ clientId: 'reddit-like' });
    const auth = { authorization: basic('reddit-like', 'reddit-like-secret') };
    const res = await postForm(`${sb.url}/oauth/revoke`, { token: t.refresh_token ?? '' }, auth);
    assert.equal(res.status, 204);
    assert.equal(state(t.access_token), 'revoked');
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: 'sbx_rt_unknown' }, auth)).status, 204);
    assert.equal(sb.admin.getClient('plugboard-demo').revokeSuccessStatus, 200);
  });
  it('only 200 or 204 is accepted, over the admin API too', async () => {
    assert.throws(() => sb.admin.createClient({ id: 'bad-status', revokeSuccessStatus: 201 as 204 }), SandboxInputError);
    const res = await sendJson(`${sb.url}/_admin/clients`, 'POST', { id: 'bad-status-http', revokeSuccessStatus: '204' });
    assert.equal(res.status, 400);
    assert.equal(res.json().path, 'revokeSuccessStatus');
  });
});

describe('delete-path: HubSpot v1, Zendesk, Microsoft grants', () => {
  const client = 'sandbox-delete-path';
  it('HubSpot v1: DELETE /oauth/v1/refresh-tokens/{token} kills the refresh token only; 404 after', async () => {
    const w = world(client);
    const res = await call(`${sb.url}/oauth/v1/refresh-tokens/${encodeURIComponent(w.a.refresh_token ?? '')}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.equal(state(w.a.refresh_token), 'revoked');
    assert.equal(state(w.a.access_token), 'active', 'existing access tokens keep working');
    assert.equal(state(w.b.refresh_token), 'active');
    assert.equal((await call(`${sb.url}/oauth/v1/refresh-tokens/${encodeURIComponent(w.a.refresh_token ?? '')}`, { method: 'DELETE' })).status, 404);
    const access = await call(`${sb.url}/oauth/v1/refresh-tokens/${encodeURIComponent(w.b.access_token)}`, { method: 'DELETE' });
    assert.equal(access.status, 404, 'an access token is not a refresh token');
    assert.equal(state(w.b.access_token), 'active');
    assert.equal((await call(`${sb.url}/oauth/v1/refresh-tokens/%E0%A4%A`, { method: 'DELETE' })).status, 404, 'bad percent-encoding');
  });
  it('Zendesk: current.json kills the bearer token alone; a grant id kills that grant; 401 and 404 otherwise', async () => {
    const w = world(client);
    const res = await call(`${sb.url}/api/v2/oauth/tokens/current.json`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(res.status, 204);
    assert.equal(state(w.a.access_token), 'revoked');
    assert.equal(state(w.a.refresh_token), 'active');
    const again = await call(`${sb.url}/api/v2/oauth/tokens/current.json`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(again.status, 401);
    assert.equal(again.json().error, 'invalid_token');
    const grantB = sb.admin.tokenState(w.b.access_token).familyId ?? '';
    const foreign = sb.admin.tokenState(w.bob.access_token).familyId ?? '';
    assert.equal((await call(`${sb.url}/api/v2/oauth/tokens/${foreign}.json`, { method: 'DELETE', headers: bearer(w.b.access_token) })).status, 404, "another user's grant");
    assert.equal(state(w.bob.access_token), 'active');
    assert.equal((await call(`${sb.url}/api/v2/oauth/tokens/${grantB}.json`, { method: 'DELETE', headers: bearer(w.b.access_token) })).status, 204);
    assert.equal(state(w.b.refresh_token), 'revoked');
    assert.equal((await call(`${sb.url}/api/v2/oauth/tokens/current.json`, { method: 'DELETE' })).status, 401, 'no bearer token');
  });
  it('Microsoft: DELETE /v1.0/oauth2PermissionGrants/{id} kills the refresh tokens of the grant; access tokens live; 404 twice', async () => {
    const w = world(client);
    const grant = sb.admin.tokenState(w.a.access_token).familyId ?? '';
    const res = await call(`${sb.url}/v1.0/oauth2PermissionGrants/${grant}`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(res.status, 204);
    for (const t of [w.a.refresh_token, w.b.refresh_token]) assert.equal(state(t), 'revoked');
    for (const t of [w.a.access_token, w.b.access_token, w.bob.refresh_token, w.other.refresh_token]) assert.equal(state(t), 'active');
    const twice = await call(`${sb.url}/v1.0/oauth2PermissionGrants/${grant}`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(twice.status, 404);
    assert.equal(twice.json().error.code, 'Request_ResourceNotFound');
    const otherClientGrant = sb.admin.tokenState(w.other.access_token).familyId ?? '';
    assert.equal((await call(`${sb.url}/v1.0/oauth2PermissionGrants/${otherClientGrant}`, { method: 'DELETE', headers: bearer(w.bob.access_token) })).status, 404);
    assert.equal(state(w.other.refresh_token), 'active');
    const unauth = await call(`${sb.url}/v1.0/oauth2PermissionGrants/${grant}`, { method: 'DELETE', headers: bearer('sbx_at_unknown') });
    assert.equal(unauth.status, 401);
    assert.equal(unauth.json().error.code, 'InvalidAuthenticationToken');
  });
});

describe('header: DELETE /admin/api_permissions/current.json (Shopify)', () => {
  it('uninstalls with X-Shopify-Access-Token; a dead or missing token is 401; Authorization: Bearer is not the header', async () => {
    const w = world('sandbox-header');
    const viaBearer = await call(`${sb.url}/admin/api_permissions/current.json`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(viaBearer.status, 401);
    assertNothingDied(w);
    const res = await call(`${sb.url}/admin/api_permissions/current.json`, { method: 'DELETE', headers: { 'x-shopify-access-token': w.a.access_token } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), {});
    assertAppAuthorizationGone(w);
    const again = await call(`${sb.url}/admin/api_permissions/current.json`, { method: 'DELETE', headers: { 'x-shopify-access-token': w.a.access_token } });
    assert.equal(again.status, 401);
    assert.match(again.json().errors, /Invalid API key or access token/);
  });
});

describe('app-secret-header: POST /square/oauth2/revoke (Square)', () => {
  const url = () => `${sb.url}/square/oauth2/revoke`;
  const auth = { authorization: 'Client sandbox-app-secret-header-secret' };
  it('revokes the grant with Authorization: Client and a JSON body', async () => {
    const w = world('sandbox-app-secret-header');
    const res = await sendJson(url(), 'POST', { client_id: 'sandbox-app-secret-header', access_token: w.a.access_token }, auth);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { success: true });
    assertAppAuthorizationGone(w);
    const again = await sendJson(url(), 'POST', { client_id: 'sandbox-app-secret-header', access_token: w.a.access_token }, auth);
    assert.equal(again.status, 404);
    assert.equal(again.json().errors[0].code, 'NOT_FOUND');
  });
  it('refuses Basic auth, a wrong secret, a missing client_id or access_token, a form body', async () => {
    const w = world('sandbox-app-secret-header');
    const body = { client_id: 'sandbox-app-secret-header', access_token: w.a.access_token };
    assert.equal((await sendJson(url(), 'POST', body, { authorization: basic('sandbox-app-secret-header', 'sandbox-app-secret-header-secret') })).status, 401);
    assert.equal((await sendJson(url(), 'POST', body, { authorization: 'Client wrong' })).status, 401);
    const noId = await sendJson(url(), 'POST', { access_token: w.a.access_token }, auth);
    assert.equal(noId.status, 400);
    assert.equal(noId.json().errors[0].field, 'client_id');
    assert.equal((await sendJson(url(), 'POST', { client_id: 'sandbox-app-secret-header' }, auth)).json().errors[0].field, 'access_token');
    assert.equal((await postForm(url(), body, auth)).status, 400);
    assertNothingDied(w);
  });
});

describe('deauthorize: POST /oauth/deauthorize (Strava)', () => {
  it('deauthorizes with a form or query access_token, no client auth, and does not echo the token', async () => {
    const w = world('sandbox-deauthorize');
    const res = await postForm(`${sb.url}/oauth/deauthorize`, { access_token: w.a.access_token });
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes(w.a.access_token));
    assertAppAuthorizationGone(w);
    const w2 = world('sandbox-deauthorize');
    assert.equal((await call(`${sb.url}/oauth/deauthorize?access_token=${w2.bob.access_token}`, { method: 'POST' })).status, 200);
    assert.equal(state(w2.bob.refresh_token), 'revoked');
  });
  it('a dead token is 401, a missing one 400, a refresh token is not an access token', async () => {
    const w = world('sandbox-deauthorize');
    await postForm(`${sb.url}/oauth/deauthorize`, { access_token: w.a.access_token });
    const dead = await postForm(`${sb.url}/oauth/deauthorize`, { access_token: w.a.access_token });
    assert.equal(dead.status, 401);
    assert.equal(dead.json().errors[0].code, 'invalid');
    assert.equal((await postForm(`${sb.url}/oauth/deauthorize`, {})).status, 400);
    assert.equal((await postForm(`${sb.url}/oauth/deauthorize`, { access_token: w.bob.refresh_token ?? '' })).status, 401);
    assert.equal(state(w.bob.refresh_token), 'active');
  });
});

describe('stripe: POST /stripe/oauth/deauthorize (Stripe Connect)', () => {
  const url = () => `${sb.url}/stripe/oauth/deauthorize`;
  const key = 'sandbox-stripe-secret';
  it('deauthorizes the account with the secret key as the Basic user, or as Bearer', async () => {
    const w = world('sandbox-stripe');
    const res = await postForm(url(), { client_id: 'sandbox-stripe', stripe_user_id: 'user-alice' }, { authorization: basic(key, '') });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { stripe_user_id: 'user-alice' });
    assertAppAuthorizationGone(w);
    const again = await postForm(url(), { client_id: 'sandbox-stripe', stripe_user_id: 'user-alice' }, bearer(key));
    assert.equal(again.status, 400, 'no longer connected');
    assert.equal(again.json().error, 'invalid_client');
    assert.equal((await postForm(url(), { client_id: 'sandbox-stripe', stripe_user_id: 'bob' }, bearer(key))).status, 200);
    assert.equal(state(w.bob.access_token), 'revoked');
  });
  it('refuses no key, a wrong key, a missing client_id or stripe_user_id, an unknown account', async () => {
    const w = world('sandbox-stripe');
    const params = { client_id: 'sandbox-stripe', stripe_user_id: 'user-alice' };
    assert.equal((await postForm(url(), params)).status, 401);
    assert.equal((await postForm(url(), params, bearer('sk_wrong'))).status, 401);
    assert.equal((await postForm(url(), { stripe_user_id: 'user-alice' }, bearer(key))).status, 400);
    assert.equal((await postForm(url(), { client_id: 'sandbox-stripe' }, bearer(key))).status, 400);
    assert.equal((await postForm(url(), { client_id: 'sandbox-stripe', stripe_user_id: 'acct_nobody' }, bearer(key))).status, 400);
    assertNothingDied(w);
  });
});

describe('uninstall: Slack apps.uninstall and HubSpot external-install', () => {
  it('Slack: client_id + client_secret + token uninstall the app; errors are HTTP 200 ok:false', async () => {
    const w = world('sandbox-uninstall');
    const creds = { client_id: 'sandbox-uninstall', client_secret: 'sandbox-uninstall-secret' };
    const wrong = await postForm(`${sb.url}/api/apps.uninstall`, { ...creds, client_secret: 'wrong', token: w.a.access_token });
    assert.deepEqual([wrong.status, wrong.json()], [200, { ok: false, error: 'bad_client_secret' }]);
    assert.deepEqual((await postForm(`${sb.url}/api/apps.uninstall`, { client_id: 'nobody', client_secret: 'x', token: w.a.access_token })).json(), { ok: false, error: 'invalid_client_id' });
    assert.deepEqual((await postForm(`${sb.url}/api/apps.uninstall`, creds)).json(), { ok: false, error: 'not_authed' });
    assert.deepEqual((await postForm(`${sb.url}/api/apps.uninstall`, { ...creds, token: w.other.access_token })).json(), { ok: false, error: 'invalid_auth' }, "another app's token");
    assertNothingDied(w);
    const res = await postForm(`${sb.url}/api/apps.uninstall`, { ...creds, token: w.a.access_token });
    assert.deepEqual([res.status, res.json()], [200, { ok: true }]);
    assertAppAuthorizationGone(w);
    assert.deepEqual((await postForm(`${sb.url}/api/apps.uninstall`, { ...creds, token: w.a.access_token })).json(), { ok: false, error: 'token_revoked' });
  });
  it('HubSpot: DELETE /appinstalls/v3/external-install with the bearer token uninstalls; 401 after', async () => {
    const w = world('sandbox-uninstall');
    const res = await call(`${sb.url}/appinstalls/v3/external-install`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(res.status, 204);
    assertAppAuthorizationGone(w);
    const again = await call(`${sb.url}/appinstalls/v3/external-install`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(again.status, 401);
    assert.equal(again.json().category, 'INVALID_AUTHENTICATION');
    assert.equal((await call(`${sb.url}/appinstalls/v3/external-install`, { method: 'POST', headers: bearer(w.bob.access_token) })).status, 405);
  });
});

describe('sign-in-sessions: POST /v1.0/me/revokeSignInSessions (Microsoft)', () => {
  it("every refresh token of the user dies, of every client; access tokens and other users' tokens live", async () => {
    const w = world('sandbox-sign-in-sessions');
    const res = await call(`${sb.url}/v1.0/me/revokeSignInSessions`, { method: 'POST', headers: bearer(w.a.access_token) });
    assert.equal(res.status, 200);
    assert.equal(res.json().value, true);
    for (const t of [w.a.refresh_token, w.b.refresh_token, w.other.refresh_token]) assert.equal(state(t), 'revoked');
    for (const t of [w.a.access_token, w.b.access_token, w.other.access_token, w.bob.access_token, w.bob.refresh_token]) assert.equal(state(t), 'active');
    assert.equal((await call(`${sb.url}/v1.0/me/revokeSignInSessions`, { method: 'POST', headers: bearer('sbx_at_unknown') })).status, 401);
    assert.equal((await call(`${sb.url}/v1.0/me/revokeSignInSessions`, { method: 'POST' })).status, 401);
  });
});

describe('facebook: DELETE /{version}/{user-id}/permissions (Facebook Graph)', () => {
  it('de-authorizes the app with ?access_token=, for me or the own user id', async () => {
    const w = world('sandbox-facebook');
    const res = await call(`${sb.url}/v21.0/me/permissions?access_token=${w.a.access_token}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { success: true });
    assertAppAuthorizationGone(w);
    const w2 = world('sandbox-facebook');
    assert.equal((await call(`${sb.url}/v19.0/user-bob/permissions?access_token=${w2.bob.access_token}`, { method: 'DELETE' })).status, 200);
    assert.equal(state(w2.bob.refresh_token), 'revoked');
    assert.equal(state(w2.a.refresh_token), 'active');
  });
  it('another user is code 100, a dead token code 190, no token code 2500, all 400', async () => {
    const w = world('sandbox-facebook');
    const other = await call(`${sb.url}/v21.0/user-bob/permissions?access_token=${w.a.access_token}`, { method: 'DELETE' });
    assert.deepEqual([other.status, other.json().error.code, other.json().error.type], [400, 100, 'OAuthException']);
    assertNothingDied(w);
    assert.equal((await call(`${sb.url}/v21.0/me/permissions?access_token=sbx_at_dead`, { method: 'DELETE' })).json().error.code, 190);
    assert.equal((await call(`${sb.url}/v21.0/me/permissions`, { method: 'DELETE' })).json().error.code, 2500);
  });
});

describe('installation-token: DELETE /installation/token (GitHub App)', () => {
  it('only the bearer token dies; a dead token is 401 Bad credentials', async () => {
    const w = world('sandbox-installation-token');
    const res = await call(`${sb.url}/installation/token`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.equal(res.status, 204);
    assert.equal(state(w.a.access_token), 'revoked');
    for (const t of [w.a.refresh_token, w.b.access_token, w.bob.access_token]) assert.equal(state(t), 'active');
    const again = await call(`${sb.url}/installation/token`, { method: 'DELETE', headers: bearer(w.a.access_token) });
    assert.deepEqual([again.status, again.json().message], [401, 'Bad credentials']);
  });
});

describe('app-jwt: DELETE /app/installations/{installation_id} (GitHub App)', () => {
  const url = (installation: string) => `${sb.url}/app/installations/${installation}`;
  it("a JWT signed with the app's key uninstalls the app for that user; 404 once uninstalled", async () => {
    const w = world('sandbox-app-jwt');
    const jwt = sb.admin.appJwt('sandbox-app-jwt');
    const res = await call(url('user-alice'), { method: 'DELETE', headers: bearer(jwt) });
    assert.equal(res.status, 204);
    assertAppAuthorizationGone(w);
    assert.equal((await call(url('user-alice'), { method: 'DELETE', headers: bearer(jwt) })).status, 404);
    assert.equal((await call(url('user-nobody'), { method: 'DELETE', headers: bearer(jwt) })).status, 404);
  });
  it('refuses no JWT, garbage, a foreign signature, alg none, too long a lifetime, an expired JWT', async () => {
    const w = world('sandbox-app-jwt');
    const good = sb.admin.appJwt('sandbox-app-jwt');
    const [h, p] = good.split('.');
    const foreignSig = sb.admin.appJwt('sandbox-bearer').split('.')[2];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const refusals: Record<string, Record<string, string>> = {
      missing: {},
      garbage: bearer('not.a-jwt'),
      foreign: bearer(`${h}.${p}.${foreignSig}`),
      algNone: bearer(none),
      tooLong: bearer(sb.admin.appJwt('sandbox-app-jwt', 3600)),
    };
    for (const [label, headers] of Object.entries(refusals)) {
      const res = await call(url('user-alice'), { method: 'DELETE', headers });
      assert.equal(res.status, 401, label);
      assert.equal(typeof res.json().message, 'string', label);
    }
    const shortLived = sb.admin.appJwt('sandbox-app-jwt', 30);
    sb.admin.advanceTime(31);
    const expired = await call(url('user-alice'), { method: 'DELETE', headers: bearer(shortLived) });
    assert.equal(expired.status, 401);
    assert.match(expired.json().message, /exp/);
    assertNothingDied(w);
  });
  it("the admin hands out the app's private key and JWTs over HTTP; a client of another style is refused", async () => {
    const pem = sb.admin.appPrivateKey('sandbox-app-jwt');
    assert.match(pem, /BEGIN PRIVATE KEY/);
    const res = await sendJson(`${sb.url}/_admin/clients/sandbox-app-jwt/app-jwt`, 'POST', { lifetimeSeconds: 120 });
    assert.equal(res.status, 200);
    assert.equal(res.json().jwt.split('.').length, 3);
    assert.equal((await sendJson(`${sb.url}/_admin/clients/sandbox-app-jwt/app-jwt`, 'POST', { lifetimeSeconds: 'soon' })).status, 400);
    assert.equal((await sendJson(`${sb.url}/_admin/clients/nobody/app-jwt`, 'POST', {})).status, 404);
    const w = world('sandbox-rfc7009-basic');
    const refused = await call(url('user-alice'), { method: 'DELETE', headers: bearer(sb.admin.appJwt('sandbox-rfc7009-basic')) });
    assert.equal(refused.status, 400);
    assert.equal(refused.json().error, 'unauthorized_client');
    assertNothingDied(w);
  });
});

describe('form-client-key: POST /v2/oauth/revoke/ (TikTok)', () => {
  const creds = { client_key: 'sandbox-form-client-key', client_secret: 'sandbox-form-client-key-secret' };
  it('an access token dies alone; a refresh token takes its family; an unknown token is 200', async () => {
    const w = world('sandbox-form-client-key');
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, { ...creds, token: w.a.access_token })).status, 200);
    assert.equal(state(w.a.access_token), 'revoked');
    assert.equal(state(w.a.refresh_token), 'active');
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, { ...creds, token: w.b.refresh_token ?? '' })).status, 200);
    assert.equal(state(w.b.access_token), 'revoked');
    assert.equal(state(w.bob.access_token), 'active');
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, { ...creds, token: 'sbx_at_unknown' })).status, 200);
  });
  it('refuses client_id instead of client_key, a wrong secret, no token, a JSON body, a foreign token', async () => {
    const w = world('sandbox-form-client-key');
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, { client_id: creds.client_key, client_secret: creds.client_secret, token: w.a.access_token })).status, 400);
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, { ...creds, client_secret: 'wrong', token: w.a.access_token })).status, 401);
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, creds)).status, 400);
    assert.equal((await sendJson(`${sb.url}/v2/oauth/revoke/`, 'POST', { ...creds, token: w.a.access_token })).status, 400);
    assert.equal((await postForm(`${sb.url}/v2/oauth/revoke/`, { ...creds, token: w.other.access_token })).json().error, 'unauthorized_client');
    assertNothingDied(w);
  });
});

describe('json-post: POST /auth0/oauth/revoke (Auth0)', () => {
  const creds = { client_id: 'sandbox-json-post', client_secret: 'sandbox-json-post-secret' };
  it("every refresh token of the app for the user dies; access tokens and others' tokens live", async () => {
    const w = world('sandbox-json-post');
    const res = await sendJson(`${sb.url}/auth0/oauth/revoke`, 'POST', { ...creds, token: w.a.refresh_token });
    assert.equal(res.status, 200);
    for (const t of [w.a.refresh_token, w.b.refresh_token]) assert.equal(state(t), 'revoked');
    for (const t of [w.a.access_token, w.b.access_token, w.bob.refresh_token, w.other.refresh_token]) assert.equal(state(t), 'active');
    assert.equal((await sendJson(`${sb.url}/auth0/oauth/revoke`, 'POST', { ...creds, token: w.a.refresh_token })).status, 200, 'a dead token is 200');
  });
  it('refuses an access token, a wrong secret, no token, a form body', async () => {
    const w = world('sandbox-json-post');
    const access = await sendJson(`${sb.url}/auth0/oauth/revoke`, 'POST', { ...creds, token: w.a.access_token });
    assert.deepEqual([access.status, access.json().error], [400, 'unsupported_token_type']);
    assert.equal((await sendJson(`${sb.url}/auth0/oauth/revoke`, 'POST', { ...creds, client_secret: 'wrong', token: w.a.refresh_token })).status, 401);
    assert.equal((await sendJson(`${sb.url}/auth0/oauth/revoke`, 'POST', creds)).status, 400);
    assert.equal((await postForm(`${sb.url}/auth0/oauth/revoke`, { ...creds, token: w.a.refresh_token ?? '' })).status, 400);
    assertNothingDied(w);
  });
});

describe('the new styles in the style table and against each other', () => {
  it('every style is seeded with a client, listed in the metadata, and its paths are served', async () => {
    const meta = (await call(`${sb.url}/.well-known/oauth-authorization-server`)).json();
    for (const info of Object.values(REVOKE_STYLES)) {
      assert.ok(sb.admin.getClient(`sandbox-${info.style}`), info.style);
      assert.ok(info.style in meta.sandbox_revocation_endpoints, info.style);
    }
  });
  it('a client of another style is refused at every new endpoint; a client of style none gets 404', async () => {
    const w = world('sandbox-rfc7009-basic');
    const n = world('sandbox-none');
    const attempts: Array<[string, 'POST' | 'DELETE', (t: string) => Record<string, string>]> = [
      ['/admin/api_permissions/current.json', 'DELETE', (t) => ({ 'x-shopify-access-token': t })],
      ['/appinstalls/v3/external-install', 'DELETE', (t) => bearer(t)],
      ['/v1.0/me/revokeSignInSessions', 'POST', (t) => bearer(t)],
      ['/installation/token', 'DELETE', (t) => bearer(t)],
      ['/api/v2/oauth/tokens/current.json', 'DELETE', (t) => bearer(t)],
    ];
    for (const [path, method, headers] of attempts) {
      const refused = await call(`${sb.url}${path}`, { method, headers: headers(w.a.access_token) });
      assert.equal(refused.status, 400, path);
      assert.equal(refused.json().error, 'unauthorized_client', path);
      assert.equal((await call(`${sb.url}${path}`, { method, headers: headers(n.a.access_token) })).status, 404, path);
    }
    assert.equal((await postForm(`${sb.url}/oauth/deauthorize`, { access_token: w.a.access_token })).status, 400);
    assert.equal((await call(`${sb.url}/v21.0/me/permissions?access_token=${w.a.access_token}`, { method: 'DELETE' })).status, 400);
    assertNothingDied(w);
    assertNothingDied(n);
  });
  it('the revoke counters count the new endpoints per client', async () => {
    const before = sb.admin.count('revoke', { clientId: 'sandbox-installation-token' });
    const t = sb.admin.issueTokens({ clientId: 'sandbox-installation-token' });
    await call(`${sb.url}/installation/token`, { method: 'DELETE', headers: bearer(t.access_token) });
    assert.equal(sb.admin.count('revoke', { clientId: 'sandbox-installation-token' }), before + 1);
  });
});

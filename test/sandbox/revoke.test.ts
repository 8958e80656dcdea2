/**
 * Every revoke style of the sandbox: its request shape, success answer, what dies (token, family, app authorization),
 * its answer for an already-dead token, and refusal of clients of another style (`none`: 404).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type IssuedTokens, type Sandbox } from '../../src/sandbox/index.ts';
import { basic, bearer, call, postForm, sendJson } from './oauth-client.ts';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(() => sb.close());

/** Two authorizations of the same user for `clientId`, the first refreshed once (two access tokens in its family). */
async function twoAuthorizations(clientId: string, userId = 'alice'): Promise<{ a: IssuedTokens & { access2: string }; b: IssuedTokens }> {
  const a = sb.admin.issueTokens({ clientId, userId });
  const refreshed = await postForm(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: a.refresh_token ?? '' }, { authorization: basic(clientId, `${clientId}-secret`) });
  assert.equal(refreshed.status, 200, refreshed.text);
  const b = sb.admin.issueTokens({ clientId, userId });
  return { a: { ...a, access2: refreshed.json().access_token }, b };
}

function state(token: string | undefined): string {
  return sb.admin.tokenState(token ?? '').state;
}

describe('rfc7009-basic: POST /oauth/revoke, Basic auth', () => {
  const auth = basic('sandbox-rfc7009-basic', 'sandbox-rfc7009-basic-secret');
  it('an access token dies alone', async () => {
    const { a } = await twoAuthorizations('sandbox-rfc7009-basic');
    const res = await postForm(`${sb.url}/oauth/revoke`, { token: a.access_token, token_type_hint: 'access_token' }, { authorization: auth });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.equal(state(a.access_token), 'revoked');
    assert.equal(state(a.access2), 'active');
    assert.equal(state(a.refresh_token), 'active');
  });
  it('a refresh token takes its family, whatever the hint says, and nothing else', async () => {
    const { a, b } = await twoAuthorizations('sandbox-rfc7009-basic');
    const res = await postForm(`${sb.url}/oauth/revoke`, { token: a.refresh_token ?? '', token_type_hint: 'bogus_hint' }, { authorization: auth });
    assert.equal(res.status, 200);
    for (const t of [a.access_token, a.access2, a.refresh_token]) assert.equal(state(t), 'revoked');
    assert.equal(state(b.access_token), 'active');
    assert.equal(sb.admin.tokenState(a.access_token).revokedBy, 'rfc7009-basic');
  });
  it('an unknown or already revoked token is 200 (RFC 7009 §2.2)', async () => {
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: 'sbx_at_unknown' }, { authorization: auth })).status, 200);
    const t = sb.admin.issueTokens({ clientId: 'sandbox-rfc7009-basic' });
    await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: auth });
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: auth })).status, 200);
  });
  it("another client's token is refused and survives", async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const res = await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: auth });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'unauthorized_client');
    assert.equal(state(t.access_token), 'active');
  });
  it('refuses client_secret_post, a wrong secret, a missing token and a JSON body', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-rfc7009-basic' });
    const post = await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token, client_id: 'sandbox-rfc7009-basic', client_secret: 'sandbox-rfc7009-basic-secret' });
    assert.equal(post.status, 401);
    assert.equal(post.json().error, 'invalid_client');
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: basic('sandbox-rfc7009-basic', 'nope') })).status, 401);
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, {}, { authorization: auth })).json().error, 'invalid_request');
    const json = await sendJson(`${sb.url}/oauth/revoke`, 'POST', { token: t.access_token }, { authorization: auth });
    assert.equal(json.json().error, 'invalid_request');
    assert.equal(state(t.access_token), 'active');
  });
  it('a server that revokes refresh tokens only answers unsupported_token_type for an access token', async () => {
    sb.admin.createClient({ id: 'refresh-only', secret: 'refresh-only-secret', accessTokenRevocation: false });
    const t = sb.admin.issueTokens({ clientId: 'refresh-only' });
    const a = basic('refresh-only', 'refresh-only-secret');
    const res = await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: a });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'unsupported_token_type');
    assert.equal(state(t.access_token), 'active');
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: t.refresh_token ?? '' }, { authorization: a })).status, 200);
    assert.equal(state(t.access_token), 'revoked', 'the refresh token took its access tokens along');
  });

  it('a public client revokes with client_id alone', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-public' });
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: t.refresh_token ?? '', client_id: 'plugboard-public' })).status, 200);
    assert.equal(state(t.access_token), 'revoked');
  });
});

describe('rfc7009-post: POST /oauth2/revoke, client_secret_post (Box)', () => {
  it('revokes with credentials in the body and refuses Basic', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-rfc7009-post' });
    const viaBasic = await postForm(`${sb.url}/oauth2/revoke`, { token: t.refresh_token ?? '' }, { authorization: basic('sandbox-rfc7009-post', 'sandbox-rfc7009-post-secret') });
    assert.equal(viaBasic.status, 401);
    assert.equal(state(t.refresh_token), 'active');
    const res = await postForm(`${sb.url}/oauth2/revoke`, { token: t.refresh_token ?? '', client_id: 'sandbox-rfc7009-post', client_secret: 'sandbox-rfc7009-post-secret' });
    assert.equal(res.status, 200);
    assert.equal(state(t.access_token), 'revoked');
  });
});

describe('query: /services/oauth2/revoke?token= (Salesforce, Adobe Sign)', () => {
  it('revokes by GET or POST with the token in the query string, no client auth', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-query' });
    const res = await call(`${sb.url}/services/oauth2/revoke?token=${encodeURIComponent(t.access_token)}`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(state(t.access_token), 'revoked');
    assert.equal(state(t.refresh_token), 'active');
    const u = sb.admin.issueTokens({ clientId: 'sandbox-query' });
    assert.equal((await call(`${sb.url}/services/oauth2/revoke?token=${encodeURIComponent(u.refresh_token ?? '')}`)).status, 200);
    assert.equal(state(u.access_token), 'revoked');
  });
  it('an invalid token is 400 invalid_token, not 200', async () => {
    const res = await call(`${sb.url}/services/oauth2/revoke?token=sbx_at_nope`, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'invalid_token');
  });
  it('a token in the body instead of the query is invalid_request', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-query' });
    const res = await postForm(`${sb.url}/services/oauth2/revoke`, { token: t.access_token });
    assert.equal(res.json().error, 'invalid_request');
    assert.equal(state(t.access_token), 'active');
  });
});

describe('bearer: POST /2/auth/token/revoke (Dropbox)', () => {
  it('the bearer access token dies with its refresh token and every access token of that refresh token', async () => {
    const { a, b } = await twoAuthorizations('sandbox-bearer');
    const res = await call(`${sb.url}/2/auth/token/revoke`, { method: 'POST', headers: bearer(a.access_token) });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'null');
    for (const t of [a.access_token, a.access2, a.refresh_token]) assert.equal(state(t), 'revoked');
    assert.equal(state(b.access_token), 'active');
  });
  it('a dead token is 401 invalid_access_token; a refresh token is not accepted; a body is refused', async () => {
    const res = await call(`${sb.url}/2/auth/token/revoke`, { method: 'POST', headers: bearer('sbx_at_nope') });
    assert.equal(res.status, 401);
    assert.equal(res.json().error['.tag'], 'invalid_access_token');
    const t = sb.admin.issueTokens({ clientId: 'sandbox-bearer' });
    assert.equal((await call(`${sb.url}/2/auth/token/revoke`, { method: 'POST', headers: bearer(t.refresh_token ?? '') })).status, 401);
    const withBody = await sendJson(`${sb.url}/2/auth/token/revoke`, 'POST', { token: t.access_token }, bearer(t.access_token));
    assert.equal(withBody.status, 400);
    assert.equal(state(t.access_token), 'active');
    assert.equal((await call(`${sb.url}/2/auth/token/revoke`, { method: 'POST' })).status, 400);
  });
});

describe('json: POST /v1/oauth/revoke (Notion, Intuit)', () => {
  const auth = basic('sandbox-json', 'sandbox-json-secret');
  it('revokes the token from a JSON body with Basic auth and answers a request id', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-json' });
    const res = await sendJson(`${sb.url}/v1/oauth/revoke`, 'POST', { token: t.access_token }, { authorization: auth });
    assert.equal(res.status, 200);
    assert.match(res.json().request_id, /^req_/);
    assert.equal(state(t.access_token), 'revoked');
    assert.equal(state(t.refresh_token), 'active');
  });
  it('refuses a form body, a missing token, missing auth', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-json' });
    assert.equal((await postForm(`${sb.url}/v1/oauth/revoke`, { token: t.access_token }, { authorization: auth })).status, 400);
    assert.equal((await sendJson(`${sb.url}/v1/oauth/revoke`, 'POST', { tok: t.access_token }, { authorization: auth })).status, 400);
    assert.equal((await sendJson(`${sb.url}/v1/oauth/revoke`, 'POST', { token: t.access_token })).status, 401);
    assert.equal((await call(`${sb.url}/v1/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: '{"token":' })).status, 400);
    assert.equal(state(t.access_token), 'active');
  });
});

describe('github-grant: DELETE /applications/{client_id}/grant (GitHub)', () => {
  const auth = basic('sandbox-github-grant', 'sandbox-github-grant-secret');
  it("kills every token of the app for that user, and only that user's", async () => {
    const { a, b } = await twoAuthorizations('sandbox-github-grant', 'alice');
    const bob = sb.admin.issueTokens({ clientId: 'sandbox-github-grant', userId: 'bob' });
    const res = await sendJson(`${sb.url}/applications/sandbox-github-grant/grant`, 'DELETE', { access_token: a.access_token }, { authorization: auth });
    assert.equal(res.status, 204);
    for (const t of [a.access_token, a.access2, a.refresh_token, b.access_token, b.refresh_token]) assert.equal(state(t), 'revoked');
    assert.equal(state(bob.access_token), 'active');
  });
  it('404 for a dead token, 422 for a bad body, 401 without auth, 404 for another path client', async () => {
    const url = `${sb.url}/applications/sandbox-github-grant/grant`;
    assert.equal((await sendJson(url, 'DELETE', { access_token: 'gho_nope' }, { authorization: auth })).status, 404);
    assert.equal((await sendJson(url, 'DELETE', { token: 'x' }, { authorization: auth })).status, 422);
    const t = sb.admin.issueTokens({ clientId: 'sandbox-github-grant' });
    assert.equal((await sendJson(url, 'DELETE', { access_token: t.access_token })).status, 401);
    assert.equal((await sendJson(url, 'DELETE', { access_token: t.access_token }, { authorization: basic('sandbox-github-grant', 'bad') })).status, 401);
    assert.equal((await sendJson(`${sb.url}/applications/plugboard-demo/grant`, 'DELETE', { access_token: t.access_token }, { authorization: auth })).status, 404);
    assert.equal((await call(url, { method: 'POST', headers: { authorization: auth } })).status, 405);
    assert.equal(state(t.access_token), 'active');
  });
});

describe('slack: POST /api/auth.revoke (Slack)', () => {
  it('revokes exactly the presented token and answers ok:true', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-slack' });
    const res = await call(`${sb.url}/api/auth.revoke`, { method: 'POST', headers: bearer(t.refresh_token ?? '') });
    assert.deepEqual(res.json(), { ok: true, revoked: true });
    assert.equal(state(t.refresh_token), 'revoked');
    assert.equal(state(t.access_token), 'active', 'single token: the access token survives');
  });
  it('test=1 is a dry run', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-slack' });
    const res = await postForm(`${sb.url}/api/auth.revoke`, { token: t.access_token, test: '1' });
    assert.deepEqual(res.json(), { ok: true, revoked: false });
    assert.equal(state(t.access_token), 'active');
  });
  it('errors are HTTP 200 with ok:false', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-slack' });
    await postForm(`${sb.url}/api/auth.revoke`, { token: t.access_token });
    const cases: Array<[Promise<{ status: number; json: () => any }>, string]> = [
      [postForm(`${sb.url}/api/auth.revoke`, { token: t.access_token }), 'token_revoked'],
      [postForm(`${sb.url}/api/auth.revoke`, { token: 'xoxp-nope' }), 'invalid_auth'],
      [call(`${sb.url}/api/auth.revoke`, { method: 'POST' }), 'not_authed'],
    ];
    for (const [p, error] of cases) {
      const res = await p;
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { ok: false, error });
    }
    const old = sb.admin.issueTokens({ clientId: 'sandbox-slack' });
    sb.admin.advanceTime(3601);
    assert.equal((await postForm(`${sb.url}/api/auth.revoke`, { token: old.access_token })).json().error, 'token_expired');
  });
});

describe('google: POST /revoke (Google)', () => {
  it('kills the whole authorization from an access token, via form or query, no client auth', async () => {
    const { a, b } = await twoAuthorizations('sandbox-google');
    const res = await postForm(`${sb.url}/revoke`, { token: a.access2 });
    assert.equal(res.status, 200);
    for (const t of [a.access_token, a.access2, a.refresh_token]) assert.equal(state(t), 'revoked');
    assert.equal(state(b.access_token), 'active');
    const viaQuery = await call(`${sb.url}/revoke?token=${encodeURIComponent(b.refresh_token ?? '')}`, { method: 'POST' });
    assert.equal(viaQuery.status, 200);
    assert.equal(state(b.access_token), 'revoked');
  });
  it('an already-dead token is 400 invalid_token', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-google' });
    await postForm(`${sb.url}/revoke`, { token: t.access_token });
    const res = await postForm(`${sb.url}/revoke`, { token: t.access_token });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'invalid_token');
    assert.equal((await postForm(`${sb.url}/revoke`, {})).json().error, 'invalid_request');
  });
});

describe('none (Spotify) and style mismatches', () => {
  it('a client of style none gets 404 at every revoke path; its token survives', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-none' });
    const auth = basic('sandbox-none', 'sandbox-none-secret');
    const attempts = [
      postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: auth }),
      postForm(`${sb.url}/oauth2/revoke`, { token: t.access_token, client_id: 'sandbox-none', client_secret: 'sandbox-none-secret' }),
      call(`${sb.url}/services/oauth2/revoke?token=${t.access_token}`),
      call(`${sb.url}/2/auth/token/revoke`, { method: 'POST', headers: bearer(t.access_token) }),
      sendJson(`${sb.url}/v1/oauth/revoke`, 'POST', { token: t.access_token }, { authorization: auth }),
      sendJson(`${sb.url}/applications/sandbox-none/grant`, 'DELETE', { access_token: t.access_token }, { authorization: auth }),
      postForm(`${sb.url}/api/auth.revoke`, { token: t.access_token }),
      postForm(`${sb.url}/revoke`, { token: t.access_token }),
    ];
    for (const res of await Promise.all(attempts)) assert.equal(res.status, 404, res.text);
    assert.equal(state(t.access_token), 'active');
  });

  it('a client at another style path is refused with its own path named', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const res = await postForm(`${sb.url}/revoke`, { token: t.access_token });
    assert.equal(res.status, 400);
    assert.equal(res.json().error, 'unauthorized_client');
    assert.match(res.json().error_description, /POST \/oauth\/revoke/);
    const dropbox = await call(`${sb.url}/2/auth/token/revoke`, { method: 'POST', headers: bearer(t.access_token) });
    assert.equal(dropbox.status, 400);
    const slack = await postForm(`${sb.url}/api/auth.revoke`, { token: t.access_token });
    assert.equal(slack.json().ok, false);
    assert.equal(state(t.access_token), 'active');
  });

  it('switching a client to another style moves its revoke endpoint', async () => {
    sb.admin.createClient({ id: 'switcher', secret: 'switcher-secret', revokeStyle: 'rfc7009-basic' });
    sb.admin.updateClient('switcher', { revokeStyle: 'google' });
    const t = sb.admin.issueTokens({ clientId: 'switcher' });
    assert.equal((await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: basic('switcher', 'switcher-secret') })).status, 400);
    assert.equal((await postForm(`${sb.url}/revoke`, { token: t.access_token })).status, 200);
  });
});

describe('direct revocation at the provider (admin)', () => {
  it('revokeToken reaches token, family or app authorization', async () => {
    const { a, b } = await twoAuthorizations('plugboard-demo', 'bob');
    assert.equal(sb.admin.revokeToken(a.access_token, 'token'), 1);
    assert.equal(state(a.access2), 'active');
    assert.equal(sb.admin.revokeToken(a.access2, 'family'), 2);
    assert.equal(state(b.access_token), 'active');
    assert.equal(sb.admin.revokeToken(b.access_token, 'app_authorization'), 2);
    assert.equal(state(b.refresh_token), 'revoked');
    assert.throws(() => sb.admin.revokeToken('sbx_at_nope'), /no such token/);
    const me = await call(`${sb.url}/api/me`, { headers: bearer(b.access_token) });
    assert.equal(me.status, 401);
  });
});

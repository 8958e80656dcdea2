/**
 * OAuth connections end to end against the sandbox provider on loopback, on SQLite and (when configured) PostgreSQL:
 * connect through the hosted callback and through POST /instances, re-authenticate in place (seed 002), client
 * credentials, token import, refresh on expiry, and the negative cases: bad, replayed, expired and foreign state, a
 * code from another provider, a mix-up `iss`, consent denied, token endpoint errors, a refused refresh.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { BACKENDS } from '../support/database.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { request } from 'undici';
import { openSecret } from '../../src/store/connections.ts';
import { deployConnector, hostedCallback, sandboxDefinition, startAndAuthorize } from './fixtures.ts';
import { deployConnector as deployPrivateConnector } from '../../src/connectors/resolve.ts';

for (const backend of BACKENDS) {
  describe(`OAuth connections (${backend})`, () => {
    let app: TestApp;
    let sandbox: Sandbox;
    let other: Sandbox;
    const client = { id: 'pb-test', secret: 'pb-test-secret-canary' };

    before(async () => {
      [app, sandbox, other] = await Promise.all([startTestApp({ backend }), startSandbox(), startSandbox()]);
      for (const s of [sandbox, other]) s.admin.createClient({ id: client.id, secret: client.secret, rotateRefreshTokens: true });
      sandbox.admin.createClient({ id: 'pb-short', secret: 'pb-short-secret', accessTokenTtl: 1 });
      await deployConnector(app, sandboxDefinition(sandbox, 'sbx'), client);
      await deployConnector(app, sandboxDefinition(other, 'sbx-other'), client);
      await deployConnector(app, sandboxDefinition(sandbox, 'sbx-short'), { id: 'pb-short', secret: 'pb-short-secret' });
      await deployConnector(app, sandboxDefinition(sandbox, 'sbx-cc', (def) => {
        def.auth = { type: 'oauth2_client_credentials', tokenUrl: `${sandbox.url}/oauth/token`, scopes: ['profile'] };
        def.flows = def.flows.filter((f: { kind: string }) => f.kind !== 'revoke');
      }), client);
    });
    after(async () => { await Promise.all([app.close(), sandbox.close(), other.close()]); });

    test('hosted callback: connect, list, call the provider with the token', async () => {
      const { params } = await startAndAuthorize(app, 'sbx', { name: 'Alice files', tags: 'hosted', externalUserId: 'alice' });
      assert.ok(params.get('code'));
      const page = await hostedCallback(app, params);
      assert.equal(page.status, 200, page.text);
      assert.match(page.text, /connected/);
      assert.ok(!page.text.includes(params.get('code') as string));
      const logs = app.logs.join('\n');
      assert.ok(!logs.includes(params.get('code') as string), 'the authorization code is not logged');
      assert.ok(!logs.includes(params.get('state') as string), 'the state is not logged');
      const list = await app.call('GET', '/instances?tags=hosted');
      assert.equal(list.body.instances.length, 1);
      const instance = list.body.instances[0];
      assert.deepEqual([instance.name, instance.externalUserId, instance.status, instance.valid], ['Alice files', 'alice', 'active', true]);
      const creds = await app.call('GET', `/instances/${instance.id}/credentials`);
      assert.equal(creds.status, 200, creds.text);
      assert.equal(sandbox.admin.tokenState(creds.body.accessToken).state, 'active');
    });

    test('hosted callback redirects to an allow-listed return URL with the caller state; other return URLs are refused', async () => {
      const returnUrl = 'http://localhost:8080/app/connected';
      const { params } = await startAndAuthorize(app, 'sbx', { returnUrl, state: 'my-state' });
      const done = await hostedCallback(app, params);
      assert.equal(done.status, 303);
      const location = new URL(String(done.headers.location));
      assert.equal(location.origin + location.pathname, returnUrl);
      assert.equal(location.searchParams.get('status'), 'connected');
      assert.equal(location.searchParams.get('state'), 'my-state');
      assert.ok(location.searchParams.get('instanceId'));
      const refused = await app.call('GET', `/elements/sbx/oauth/url?returnUrl=${encodeURIComponent('https://evil.example/steal')}`);
      assert.equal(refused.status, 400);
      assert.equal(refused.body.details[0].path, 'query.returnUrl');
    });

    test('own callback: POST /instances with providerData { code, state }', async () => {
      const { params } = await startAndAuthorize(app, 'sbx', { callbackUrl: 'http://127.0.0.1:9999/my/callback' });
      const res = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'own', providerData: { code: params.get('code'), state: params.get('state') } } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.status, 'active');
      const withoutState = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'x', providerData: { code: 'whatever' } } });
      assert.equal(withoutState.status, 400);
      assert.equal(withoutState.body.details[0].path, 'body.providerData.state');
    });

    test('re-authenticate in place after the token was revoked at the provider (seed 002)', async () => {
      const { params } = await startAndAuthorize(app, 'sbx', { name: 'Reauth me', tags: 'reauth' });
      await hostedCallback(app, params);
      const [instance] = (await app.call('GET', '/instances?tags=reauth')).body.instances;
      const first = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
      const revoked = await app.ctx.store.db.selectFrom('connections').select('id').where('id', '=', instance.id).executeTakeFirstOrThrow();
      assert.equal(revoked.id, instance.id);
      // Steps 5-7 of the seed: a new code through oauth/url, then PATCH /instances with providerData.code.
      const again = await startAndAuthorize(app, 'sbx', { instanceId: instance.id, callbackUrl: 'http://127.0.0.1:9999/cb' });
      const patched = await app.call('PATCH', `/instances/${instance.id}`, { body: { providerData: { code: again.params.get('code'), state: again.params.get('state') } } });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual([patched.body.id, patched.body.name, patched.body.tags, patched.body.status], [instance.id, 'Reauth me', ['reauth'], 'active']);
      const second = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
      assert.notEqual(second, first);
      const events = await app.ctx.store.db.selectFrom('events').select('type').where('instance_id', '=', instance.id).execute();
      assert.ok(events.some((e) => e.type === 'instance.reauthenticated'));
      // The hosted callback re-authenticates too when the flow was started for an instance.
      const hosted = await startAndAuthorize(app, 'sbx', { instanceId: instance.id });
      const page = await hostedCallback(app, hosted.params);
      assert.match(page.text, /re-authenticated/);
      assert.equal((await app.call('GET', '/instances?tags=reauth')).body.instances.length, 1);
    });

    test('state: unknown, replayed, expired and foreign states are refused; nothing is created', async () => {
      const before = (await app.call('GET', '/instances?limit=200')).body.instances.length;
      const { params } = await startAndAuthorize(app, 'sbx');
      const forged = new URLSearchParams(params);
      forged.set('state', 'x'.repeat(43));
      const bad = await hostedCallback(app, forged);
      assert.equal(bad.status, 400);
      assert.match(bad.text, /OAUTH_STATE_INVALID/);
      assert.equal((await hostedCallback(app, params)).status, 200);
      const replay = await hostedCallback(app, params);
      assert.equal(replay.status, 400);
      assert.match(replay.text, /already used/);
      const missing = await hostedCallback(app, new URLSearchParams({ code: 'abc' }));
      assert.equal(missing.status, 400);
      const stale = await startAndAuthorize(app, 'sbx');
      await app.ctx.store.db.updateTable('oauth_states').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('used_at', 'is', null).execute();
      const expired = await hostedCallback(app, stale.params);
      assert.equal(expired.status, 400);
      assert.match(expired.text, /expired/);
      // A state of this organization presented by another organization through POST /instances is unknown there.
      const org = await app.call('POST', '/organizations', { body: { name: `Other ${backend}` } });
      const foreignKey: string = org.body.apiKey.secret;
      // A connector reaching private targets is deployed by the platform operator (a tenant key gets 403), here into the other organization.
      await deployPrivateConnector(app.ctx, org.body.organization.id, { body: sandboxDefinition(sandbox, 'sbx'), mustBeNew: true, userId: null, mayAllowInsecureTargets: true });
      assert.equal((await app.call('PUT', '/elements/sbx/oauth-app', { apiKey: foreignKey, body: { clientId: client.id, clientSecret: client.secret } })).status, 200);
      const mine = await startAndAuthorize(app, 'sbx', { callbackUrl: 'http://127.0.0.1:9999/cb' });
      const foreign = await app.call('POST', '/instances', { apiKey: foreignKey, body: { element: { key: 'sbx' }, name: 'x', providerData: { code: mine.params.get('code'), state: mine.params.get('state') } } });
      assert.equal(foreign.status, 400);
      assert.equal(foreign.body.code, 'OAUTH_STATE_INVALID');
      assert.equal((await app.call('GET', '/instances?limit=200')).body.instances.length, before + 1);
    });

    test('consent denied: access_denied gives a clear failure, to the return URL when there is one', async () => {
      const denied = await startAndAuthorize(app, 'sbx', {}, 'deny');
      assert.equal(denied.params.get('error'), 'access_denied');
      const page = await hostedCallback(app, denied.params);
      assert.equal(page.status, 400);
      assert.match(page.text, /declined/);
      const withReturn = await startAndAuthorize(app, 'sbx', { returnUrl: 'http://localhost:8080/app', state: 's1' }, 'deny');
      const redirect = await hostedCallback(app, withReturn.params);
      assert.equal(redirect.status, 303);
      const location = new URL(String(redirect.headers.location));
      assert.equal(location.searchParams.get('error'), 'oauth_error');
      assert.equal(location.searchParams.get('state'), 's1');
    });

    test('a code from another provider, and an iss naming another server, are refused', async () => {
      const mine = await startAndAuthorize(app, 'sbx');
      const theirs = await startAndAuthorize(app, 'sbx-other');
      const swapped = new URLSearchParams(mine.params);
      swapped.set('code', theirs.params.get('code') as string);
      swapped.delete('iss');
      const res = await hostedCallback(app, swapped);
      assert.equal(res.status, 400);
      assert.match(res.text, /OAUTH_ERROR/);
      const mixup = await startAndAuthorize(app, 'sbx');
      const wrongIss = new URLSearchParams(mixup.params);
      wrongIss.set('iss', other.issuer);
      const refused = await hostedCallback(app, wrongIss);
      assert.equal(refused.status, 400);
      assert.match(refused.text, /issuer/);
    });

    test('a declared issuer is what iss must equal', async () => {
      await deployConnector(app, sandboxDefinition(sandbox, 'sbx-issuer', (def) => { def.auth.issuer = 'https://issuer.example'; }), client);
      const { params } = await startAndAuthorize(app, 'sbx-issuer');
      const refused = await hostedCallback(app, params);
      assert.equal(refused.status, 400, 'the sandbox names itself, not the declared issuer');
      assert.match(refused.text, /issuer\.example/);
      const again = await startAndAuthorize(app, 'sbx-issuer');
      again.params.set('iss', 'https://issuer.example');
      assert.equal((await hostedCallback(app, again.params)).status, 200);
    });

    test('token endpoint errors: a 503 at the token endpoint is a provider error and creates nothing', async () => {
      const { params } = await startAndAuthorize(app, 'sbx', { callbackUrl: 'http://127.0.0.1:9999/cb' });
      sandbox.admin.setFault('token', { kind: 'status', status: 503 } as never);
      try {
        const res = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'x', providerData: { code: params.get('code'), state: params.get('state') } } });
        assert.equal(res.status, 502, res.text);
        assert.equal(res.body.code, 'PROVIDER_ERROR');
        assert.ok(!res.text.includes(client.secret));
      } finally {
        sandbox.admin.clearFault('token');
      }
    });

    test('client credentials and token import', async () => {
      const cc = await app.call('POST', '/instances', { body: { element: { key: 'sbx-cc' }, name: 'machine' } });
      assert.equal(cc.status, 201, cc.text);
      const token = (await app.call('GET', `/instances/${cc.body.id}/credentials`)).body.accessToken;
      assert.equal(sandbox.admin.tokenState(token).state, 'active');
      const imported = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'migrated', tokens: { accessToken: 'imported-at', refreshToken: 'imported-rt', expiresIn: 3600 } } });
      assert.equal(imported.status, 201, imported.text);
      // The connector's _authping ran with the imported token, which the provider does not know: stored, but invalid.
      assert.deepEqual([imported.body.valid, imported.body.status], [false, 'invalid']);
      assert.equal(cc.body.valid, true);
      const read = await app.call('GET', `/instances/${imported.body.id}/credentials`);
      assert.equal(read.body.accessToken, 'imported-at');
      assert.equal(read.body.refreshed, false);
    });

    test('token import: live tokens stay active; expired ones are refreshed before the authping', async () => {
      const live = sandbox.admin.issueTokens({ clientId: client.id });
      const kept = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'imported live', tokens: { accessToken: live.access_token, refreshToken: live.refresh_token, expiresIn: 3600 } } });
      assert.equal(kept.status, 201, kept.text);
      assert.deepEqual([kept.body.valid, kept.body.status], [true, 'active']);
      assert.ok(!kept.text.includes(live.access_token));
      const stale = sandbox.admin.issueTokens({ clientId: client.id });
      const refreshesBefore = sandbox.admin.count('token', { clientId: client.id });
      const revived = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'imported stale', tokens: { accessToken: 'long-dead', refreshToken: stale.refresh_token, expiresAt: '2001-01-01T00:00:00Z' } } });
      assert.equal(revived.status, 201, revived.text);
      assert.deepEqual([revived.body.valid, revived.body.status], [true, 'active']);
      assert.equal(sandbox.admin.count('token', { clientId: client.id }), refreshesBefore + 1);
      const badDate = await app.call('POST', '/instances', { body: { element: { key: 'sbx' }, name: 'x', tokens: { accessToken: 'a', expiresAt: 'next tuesday' } } });
      assert.equal(badDate.status, 400);
      assert.equal(badDate.body.details[0].path, 'body.tokens.expiresAt');
    });

    test('refresh on expiry: the credentials read refreshes once; a refused refresh marks the instance invalid', async () => {
      const { params } = await startAndAuthorize(app, 'sbx-short', { tags: 'short' });
      await hostedCallback(app, params);
      const [instance] = (await app.call('GET', '/instances?tags=short')).body.instances;
      assert.ok(instance.expiresAt !== null);
      const before = sandbox.admin.count('token', { clientId: 'pb-short' });
      const read = await app.call('GET', `/instances/${instance.id}/credentials`);
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.refreshed, true, 'a token within the refresh margin is refreshed first');
      assert.equal(sandbox.admin.count('token', { clientId: 'pb-short' }), before + 1);
      // The grant dies at the provider: the next refresh is refused and the instance becomes invalid.
      const row = await app.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', instance.id).executeTakeFirstOrThrow();
      const refreshToken = openSecret(app.ctx.vault, row, 'refresh_token');
      assert.ok(refreshToken !== null);
      const revoke = await request(`${sandbox.url}/oauth/revoke`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('pb-short:pb-short-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: refreshToken }).toString(),
      });
      await revoke.body.dump();
      assert.equal(revoke.statusCode, 200);
      const refused = await app.call('GET', `/instances/${instance.id}/credentials`);
      assert.equal(refused.status, 401, refused.text);
      assert.equal(refused.body.code, 'INVALID_ACCESS_TOKEN');
      assert.equal((await app.call('GET', `/instances/${instance.id}`)).body.status, 'invalid');
    });

    test('one state, two concurrent callbacks: exactly one connection', async () => {
      const { params } = await startAndAuthorize(app, 'sbx', { tags: 'twice' });
      const [a, b] = await Promise.all([hostedCallback(app, params), hostedCallback(app, params)]);
      assert.deepEqual([a.status, b.status].sort(), [200, 400]);
      assert.equal((await app.call('GET', '/instances?tags=twice')).body.instances.length, 1);
    });

    test('a state issued to re-authenticate one instance cannot re-authenticate another', async () => {
      const first = await startAndAuthorize(app, 'sbx', { tags: 'pair' });
      await hostedCallback(app, first.params);
      const second = await startAndAuthorize(app, 'sbx', { tags: 'pair' });
      await hostedCallback(app, second.params);
      const [x, y] = (await app.call('GET', '/instances?tags=pair')).body.instances;
      const forX = await startAndAuthorize(app, 'sbx', { instanceId: x.id, callbackUrl: 'http://127.0.0.1:9999/cb' });
      const res = await app.call('PATCH', `/instances/${y.id}`, { body: { providerData: { code: forX.params.get('code'), state: forX.params.get('state') } } });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'OAUTH_STATE_INVALID');
      const wrongElement = await app.call('GET', `/elements/sbx-other/oauth/url?instanceId=${x.id}`);
      assert.equal(wrongElement.status, 400);
      assert.equal(wrongElement.body.details[0].path, 'query.instanceId');
    });

    test('OAuth client per request (apiKey/apiSecret) is kept with the connection and used to refresh', async () => {
      sandbox.admin.createClient({ id: 'pb-own', secret: 'pb-own-secret', accessTokenTtl: 1 });
      const { params } = await startAndAuthorize(app, 'sbx', { apiKey: 'pb-own', apiSecret: 'pb-own-secret', tags: 'own-client' });
      assert.equal((await hostedCallback(app, params)).status, 200);
      const [instance] = (await app.call('GET', '/instances?tags=own-client')).body.instances;
      const row = await app.ctx.store.db.selectFrom('connections').select(['client_id', 'client_secret']).where('id', '=', instance.id).executeTakeFirstOrThrow();
      assert.equal(row.client_id, 'pb-own');
      assert.ok(row.client_secret?.startsWith('pb1.'), 'the per-connection client secret is sealed');
      const before = sandbox.admin.count('token', { clientId: 'pb-own' });
      const read = await app.call('GET', `/instances/${instance.id}/credentials`);
      assert.equal(read.body.refreshed, true);
      assert.equal(sandbox.admin.count('token', { clientId: 'pb-own' }), before + 1);
      const half = await app.call('GET', '/elements/sbx/oauth/url?apiKey=only-id');
      assert.equal(half.status, 400);
      assert.equal(half.body.details[0].path, 'query.apiSecret');
    });

    test('no OAuth app and no per-request client: a 404 that says how to set one', async () => {
      await deployConnector(app, sandboxDefinition(sandbox, 'sbx-noapp'), null);
      const res = await app.call('GET', '/elements/sbx-noapp/oauth/url');
      assert.equal(res.status, 404);
      assert.match(res.body.details[0].message, /oauth-app/);
      const unknown = await app.call('GET', '/elements/no-such-connector/oauth/url');
      assert.equal(unknown.status, 404);
    });

    test('no secret reaches the logs', () => {
      const logs = app.logs.join('\n');
      assert.ok(!logs.includes(client.secret));
      assert.ok(!logs.includes('imported-rt'));
    });
  });
}

test('OAuth states are stored hashed, with the PKCE verifier sealed', async () => {
  const app = await startTestApp();
  const sandbox = await startSandbox();
  try {
    await deployConnector(app, sandboxDefinition(sandbox, 'sbx'), { id: 'plugboard-demo', secret: 'plugboard-demo-secret' });
    const res = await app.call('GET', '/elements/sbx/oauth/url');
    const url = new URL(res.body.oauthUrl);
    const state = url.searchParams.get('state') as string;
    assert.match(state, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    const rows = await app.ctx.store.db.selectFrom('oauth_states').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(state));
    assert.ok(rows[0].code_verifier?.startsWith('pb1.'));
    assert.equal(rows[0].org_id, app.admin.organizationId);
  } finally {
    await Promise.all([app.close(), sandbox.close()]);
  }
});

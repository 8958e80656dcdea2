/**
 * The element endpoints end to end over SQLite (and PostgreSQL when PLUGBOARD_TEST_DATABASE_URL is set): listing
 * built-ins, deploying private connectors as YAML or JSON with located errors, versions, read-only built-ins, tenant
 * isolation, permissions, and the OAuth app whose secret is sealed and never shown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { getConnector, getOAuthApp } from '../../src/connectors/resolve.ts';

const PRIVATE = (key: string, name = 'Acme CRM', extra = '') => `key: ${key}
name: ${name}
baseUrl: https://api.acme.example
auth:
  type: oauth2_authorization_code
  authorizationUrl: https://acme.example/oauth/authorize
  tokenUrl: https://acme.example/oauth/token
${extra}`;

const REVOKE_FLOW = `flows:
  - name: _revoke
    kind: revoke
    outputs: { revoked: boolean, message: object, serviceResponse: object }
    cards:
      - type: return
        values:
          revoked: false
          message: { unregisterURL: https://acme.example/apps, text: Remove the app by hand. }
          serviceResponse: { statusCode: 0, body: null }
`;

const YAML = { contentType: 'application/yaml' };
const SECRET = 'acme-client-secret-value-7f3a9';

const backends: Array<'sqlite' | 'postgres'> = process.env.PLUGBOARD_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

for (const backend of backends) {
  describe(`elements API (${backend})`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ backend });
    });
    after(async () => {
      await app?.close();
    });

    test('GET /elements lists the built-ins with revocation provenance and no OAuth app yet', async () => {
      const res = await app.call('GET', '/elements');
      assert.equal(res.status, 200);
      const byKey = new Map(res.body.elements.map((e: { key: string }) => [e.key, e]));
      assert.ok(byKey.size >= 50);
      const google = byKey.get('google') as Record<string, any>;
      assert.equal(google.origin, 'builtin');
      assert.equal(google.version, 0);
      assert.equal(google.revocation.confirmed, true);
      assert.equal(google.flows.revoke, true);
      assert.equal(google.oauthApp, null);
      const linkedin = byKey.get('linkedin') as Record<string, any>;
      assert.equal(linkedin.revocation.confirmed, false);
      assert.match(linkedin.revocation.statement, /re-verify/i);
    });

    test('GET /elements/{key} returns the definition; an unknown key is 404; a malformed key is 400', async () => {
      const res = await app.call('GET', '/elements/sandbox');
      assert.equal(res.status, 200);
      assert.equal(res.body.definition.dangerouslyAllowInsecureTargets.plainHttp, true);
      assert.equal((await app.call('GET', '/elements/no-such-connector')).status, 404);
      const bad = await app.call('GET', '/elements/Not_A_Key');
      assert.equal(bad.status, 400);
    });

    test('POST /elements deploys YAML as version 1; the key is then taken', async () => {
      const res = await app.call('POST', '/elements', { rawBody: PRIVATE('acme-crm', 'Acme CRM', REVOKE_FLOW), ...YAML });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.origin, 'private');
      assert.equal(res.body.version, 1);
      assert.equal(res.body.flows.revoke, true);
      const again = await app.call('POST', '/elements', { rawBody: PRIVATE('acme-crm'), ...YAML });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'CONFLICT');
      const listed = await app.call('GET', '/elements');
      assert.ok(listed.body.elements.some((e: { key: string; origin: string }) => e.key === 'acme-crm' && e.origin === 'private'));
    });

    test('PUT /elements/{key} adds versions; the highest is live and compiled', async () => {
      const v1 = await app.call('PUT', '/elements/acme-two', { rawBody: PRIVATE('acme-two', 'Acme Two'), ...YAML });
      assert.equal(v1.status, 200, v1.text);
      assert.equal(v1.body.version, 1);
      const v2 = await app.call('PUT', '/elements/acme-two', { body: { key: 'acme-two', name: 'Acme Two v2', baseUrl: 'https://api2.acme.example', auth: { type: 'basic' } } });
      assert.equal(v2.status, 200, v2.text);
      assert.equal(v2.body.version, 2);
      assert.equal(v2.body.authType, 'basic');
      const live = await getConnector(app.ctx, app.admin.organizationId, 'acme-two');
      assert.equal(live.version, 2);
      assert.equal(live.definition.name, 'Acme Two v2');
      assert.ok(live.compiled);
    });

    test('a definition whose key differs from the URL is refused at path key', async () => {
      const res = await app.call('PUT', '/elements/acme-three', { rawBody: PRIVATE('acme-four'), ...YAML });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'CONNECTOR_INVALID');
      assert.match(res.body.details[0].path, /elements\/acme-three.* key$/);
    });

    test('invalid YAML is refused with file, line and path; nothing is stored', async () => {
      const res = await app.call('POST', '/elements', { rawBody: PRIVATE('acme-bad').replace('tokenUrl: https://acme.example/oauth/token', 'tokenUrl: 42'), ...YAML });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'CONNECTOR_INVALID');
      assert.deepEqual(res.body.details.map((d: { path: string }) => d.path), ['request body:7:13 auth.tokenUrl']);
      assert.equal((await app.call('GET', '/elements/acme-bad')).status, 404);
    });

    test('a JSON body with an unknown field is located without line numbers', async () => {
      const res = await app.call('POST', '/elements', { body: { key: 'acme-json', name: 'A', baseUrl: 'https://a.example', auth: { type: 'basic' }, colour: 'red' } });
      assert.equal(res.status, 400);
      assert.equal(res.body.details[0].path, 'request body colour');
    });

    test('a definition whose flows do not compile is refused and never becomes live', async () => {
      const broken = PRIVATE('acme-broken', 'Broken', REVOKE_FLOW.replace('revoked: false', 'revoked: { $ref: nowhere.value }'));
      const res = await app.call('POST', '/elements', { rawBody: broken, ...YAML });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'FLOW_COMPILE_FAILED');
      assert.equal((await app.call('GET', '/elements/acme-broken')).status, 404);
    });

    test('a body that is not a definition (array, empty) is a located 400, not a crash', async () => {
      for (const body of [[1, 2], 'just text']) {
        const res = await app.call('POST', '/elements', typeof body === 'string' ? { rawBody: body, contentType: 'text/plain' } : { body });
        assert.equal(res.status, 400, res.text);
        assert.equal(res.body.code, 'CONNECTOR_INVALID');
      }
    });

    test('only the platform operator may deploy a connector that reaches private or plain-HTTP targets', async () => {
      const insecure = PRIVATE('acme-local', 'Local', 'dangerouslyAllowInsecureTargets: { privateNetwork: true }\n').replace('https://api.acme.example', 'https://10.0.0.5');
      const other = await app.call('POST', '/organizations', { body: { name: 'Tenant without platform:admin' } });
      const tenantKey = other.body.apiKey.secret as string;
      const refused = await app.call('POST', '/elements', { rawBody: insecure, ...YAML, apiKey: tenantKey });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.details[0].path, 'dangerouslyAllowInsecureTargets');
      assert.equal((await app.call('GET', '/elements/acme-local', { apiKey: tenantKey })).status, 404);
      const refusedPut = await app.call('PUT', '/elements/acme-local', { rawBody: insecure.replace('privateNetwork: true', 'plainHttp: true, privateNetwork: true'), ...YAML, apiKey: tenantKey });
      assert.equal(refusedPut.status, 403);
      const operator = await app.call('POST', '/elements', { rawBody: insecure, ...YAML });
      assert.equal(operator.status, 201, operator.text);
    });

    test('concurrent deploys of one key never overwrite each other', async () => {
      const results = await Promise.all([1, 2, 3, 4, 5].map((n) => app.call('PUT', '/elements/acme-race', { rawBody: PRIVATE('acme-race', `Race ${n}`), ...YAML })));
      assert.ok(results.every((r) => r.status === 200 || r.status === 409), results.map((r) => r.text).join('\n'));
      const versions = results.filter((r) => r.status === 200).map((r) => r.body.version as number).sort();
      assert.deepEqual(versions, versions.map((_, i) => i + 1), 'each accepted deploy got its own version');
      const rows = await app.ctx.store.db.selectFrom('private_connectors').select('version').where('org_id', '=', app.admin.organizationId).where('key', '=', 'acme-race').execute();
      assert.equal(rows.length, versions.length);
    });

    test('built-in connectors are read-only', async () => {
      const res = await app.call('PUT', '/elements/google', { rawBody: PRIVATE('google', 'Google'), ...YAML });
      assert.equal(res.status, 409);
      assert.match(res.body.details[0].message, /google-custom/);
    });

    test('the OAuth app secret is sealed, never returned or logged, and opens for server-side use', async () => {
      const res = await app.call('PUT', '/elements/sandbox/oauth-app', { body: { clientId: 'plugboard-demo', clientSecret: SECRET } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['clientId', 'clientSecretSet', 'createdAt', 'key', 'updatedAt']);
      assert.ok(!res.text.includes(SECRET));
      const listed = await app.call('GET', '/elements/sandbox');
      assert.equal(listed.body.oauthApp.clientId, 'plugboard-demo');
      assert.ok(!listed.text.includes(SECRET));
      const stored = await app.ctx.store.db.selectFrom('connector_oauth_apps').selectAll().execute();
      assert.ok(stored.every((row) => !row.client_secret.includes(SECRET)));
      assert.deepEqual(await getOAuthApp(app.ctx, app.admin.organizationId, 'sandbox'), { clientId: 'plugboard-demo', clientSecret: SECRET });
      const replaced = await app.call('PUT', '/elements/sandbox/oauth-app', { body: { clientId: 'plugboard-demo', clientSecret: `${SECRET}-2` } });
      assert.equal(replaced.status, 200);
      assert.equal((await getOAuthApp(app.ctx, app.admin.organizationId, 'sandbox'))?.clientSecret, `${SECRET}-2`);
      assert.ok(app.logs.every((line) => !line.includes(SECRET)));
    });

    test('a sealed OAuth app secret moved to another organization fails to open', async () => {
      const other = await app.call('POST', '/organizations', { body: { name: 'Moved secret org' } });
      assert.equal(other.status, 201, other.text);
      const otherOrg = other.body.organization.id as string;
      const row = await app.ctx.store.db.selectFrom('connector_oauth_apps').selectAll().where('org_id', '=', app.admin.organizationId).executeTakeFirstOrThrow();
      await app.ctx.store.db.insertInto('connector_oauth_apps').values({ ...row, id: `${row.id}-copy`, org_id: otherOrg }).execute();
      await assert.rejects(getOAuthApp(app.ctx, otherOrg, 'sandbox'), (error: { code?: string }) => error.code === 'VAULT_DECRYPT_FAILED');
    });

    test('OAuth app: unknown connector 404, non-OAuth connector 400, unknown field 400', async () => {
      assert.equal((await app.call('PUT', '/elements/nope/oauth-app', { body: { clientId: 'a', clientSecret: 'b' } })).status, 404);
      const basic = await app.call('PUT', '/elements/acme-two/oauth-app', { body: { clientId: 'a', clientSecret: 'b' } });
      assert.equal(basic.status, 400);
      assert.match(basic.body.message, /basic auth/);
      const extra = await app.call('PUT', '/elements/sandbox/oauth-app', { body: { clientId: 'a', clientSecret: 'b', scope: 'x' } });
      assert.equal(extra.status, 400);
      const empty = await app.call('PUT', '/elements/sandbox/oauth-app', { body: { clientId: '', clientSecret: 'b' } });
      assert.equal(empty.status, 400);
    });

    test('private connectors and OAuth apps belong to one organization', async () => {
      const other = await app.call('POST', '/organizations', { body: { name: 'Other org' } });
      assert.equal(other.status, 201, other.text);
      const key = other.body.apiKey.secret as string;
      assert.equal((await app.call('GET', '/elements/acme-crm', { apiKey: key })).status, 404);
      const listed = await app.call('GET', '/elements', { apiKey: key });
      assert.ok(!listed.body.elements.some((e: { key: string }) => e.key === 'acme-crm'));
      assert.equal(listed.body.elements.find((e: { key: string }) => e.key === 'sandbox').oauthApp, null);
      const own = await app.call('POST', '/elements', { rawBody: PRIVATE('acme-crm', 'Their Acme'), ...YAML, apiKey: key });
      assert.equal(own.status, 201, 'the same key is free in another organization');
    });

    test('deploying needs elements:write; reading needs elements:read; no credentials is 401', async () => {
      const created = await app.call('POST', '/api-keys', { body: { name: 'reader', permissions: ['elements:read'] } });
      assert.equal(created.status, 201, created.text);
      const reader = created.body.secret as string;
      assert.equal((await app.call('GET', '/elements', { apiKey: reader })).status, 200);
      assert.equal((await app.call('POST', '/elements', { rawBody: PRIVATE('acme-r'), ...YAML, apiKey: reader })).status, 403);
      assert.equal((await app.call('PUT', '/elements/sandbox/oauth-app', { body: { clientId: 'a', clientSecret: 'b' }, apiKey: reader })).status, 403);
      assert.equal((await app.call('GET', '/elements', { apiKey: null })).status, 401);
    });
  });
}

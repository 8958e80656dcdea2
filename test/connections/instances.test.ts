/**
 * The instances API end to end on an in-process server, for connections that need no provider call (API key and
 * basic credentials): create, list with filters and cursor pagination, get, rename/retag, enable/disable, the
 * credentials endpoint and its permission, the `Element` token, tenancy (another organization's instance is a 404)
 * and bad input (a located 400, never a 500). No secret may appear in responses other than the credentials read, in
 * events, or in logs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { deployConnector } from './fixtures.ts';

let app: TestApp;
const API_KEY_CANARY = 'ghs_canary_0123456789abcdef';

/** A private API-key connector (no authping flow, so no provider is called) and one that needs configuration. */
function apiKeyConnector(key: string, configuration: Array<Record<string, unknown>> = []): Record<string, unknown> {
  return {
    key,
    name: `API key ${key}`,
    baseUrl: configuration.length === 0 ? 'https://api.example.com' : 'https://{tenant}.example.com',
    configuration,
    auth: { type: 'custom', label: 'API key', apply: { in: 'header', name: 'X-Api-Key' } },
  };
}

before(async () => {
  app = await startTestApp();
  await deployConnector(app, apiKeyConnector('keyed'), null);
  await deployConnector(app, apiKeyConnector('keyed-tenant', [{ key: 'tenant', label: 'Tenant' }]), null);
  await deployConnector(app, { key: 'basic-auth', name: 'Basic', baseUrl: 'https://api.example.com', auth: { type: 'basic' } }, null);
});
after(async () => { await app.close(); });

async function createCustom(name: string, extra: Record<string, unknown> = {}) {
  const res = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name, credentials: { apiKey: API_KEY_CANARY }, ...extra } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

test('create an API-key connection: 201, instance shape, token once, no secret', async () => {
  const created = await createCustom('Acme installation', { tags: ['acme', 'prod'], externalUserId: 'user-1' });
  assert.equal(created.element.key, 'keyed');
  assert.equal(created.status, 'active');
  assert.equal(created.valid, true);
  assert.equal(created.disabled, false);
  assert.deepEqual(created.tags, ['acme', 'prod']);
  assert.equal(created.externalUserId, 'user-1');
  assert.match(created.token, /^pbe_[0-9a-f]{12}_/);
  assert.ok(!JSON.stringify(created).includes(API_KEY_CANARY));
  const shown = await app.call('GET', `/instances/${created.id}`);
  assert.equal(shown.status, 200);
  assert.equal(shown.body.token, undefined, 'the instance token is shown only at creation');
  assert.ok(!shown.text.includes(API_KEY_CANARY));
});

test('list: filters by element, tags (all), external user and status; cursor pagination is complete and stable', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await createCustom(`page-${i}`, { tags: ['paged', i % 2 === 0 ? 'even' : 'odd'], externalUserId: 'pager' })).id);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await app.call('GET', `/instances?externalUserId=pager&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.instances.length <= 2);
    seen.push(...res.body.instances.map((i: { id: string }) => i.id));
    cursor = res.body.nextCursor;
  } while (cursor !== null);
  assert.deepEqual([...seen].sort(), [...ids].sort());
  assert.equal(new Set(seen).size, seen.length);
  const even = await app.call('GET', '/instances?tags=paged,even');
  assert.equal(even.body.instances.length, 3);
  const evenRepeated = await app.call('GET', '/instances?tags=paged&tags=even&element=keyed');
  assert.equal(evenRepeated.body.instances.length, 3);
  assert.equal((await app.call('GET', '/instances?element=basic-auth&externalUserId=pager')).body.instances.length, 0);
  await app.call('DELETE', `/instances/${ids[0]}/enabled`);
  const disabled = await app.call('GET', '/instances?status=disabled&externalUserId=pager');
  assert.deepEqual(disabled.body.instances.map((i: { id: string }) => i.id), [ids[0]]);
});

test('list: a forged cursor and a bad status are located 400s', async () => {
  const cursor = await app.call('GET', '/instances?cursor=not-a-cursor');
  assert.equal(cursor.status, 400);
  assert.equal(cursor.body.code, 'VALIDATION_FAILED');
  assert.equal(cursor.body.details[0].path, 'query.cursor');
  const status = await app.call('GET', '/instances?status=sleeping');
  assert.equal(status.status, 400);
  const limit = await app.call('GET', '/instances?limit=0');
  assert.equal(limit.status, 400);
});

test('patch: rename and retag keep id and credentials; an event is recorded', async () => {
  const created = await createCustom('before');
  const res = await app.call('PATCH', `/instances/${created.id}`, { body: { name: 'after', tags: ['x'] } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.id, created.id);
  assert.equal(res.body.name, 'after');
  assert.deepEqual(res.body.tags, ['x']);
  const creds = await app.call('GET', `/instances/${created.id}/credentials`);
  assert.equal(creds.body.apiKey, API_KEY_CANARY);
  const events = await app.ctx.store.db.selectFrom('events').selectAll().where('instance_id', '=', created.id).execute();
  assert.deepEqual(events.map((e) => e.type).sort(), ['instance.created', 'instance.credentials.read', 'instance.updated']);
  for (const event of events) assert.ok(!event.data.includes(API_KEY_CANARY));
});

test('enable/disable are idempotent; a disabled instance has no credentials to read', async () => {
  const created = await createCustom('toggle');
  assert.equal((await app.call('DELETE', `/instances/${created.id}/enabled`)).body.status, 'disabled');
  assert.equal((await app.call('DELETE', `/instances/${created.id}/enabled`)).body.status, 'disabled');
  const refused = await app.call('GET', `/instances/${created.id}/credentials`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'INSTANCE_DISABLED');
  assert.equal((await app.call('PUT', `/instances/${created.id}/enabled`)).body.status, 'active');
  const events = await app.ctx.store.db.selectFrom('events').select('type').where('instance_id', '=', created.id).execute();
  assert.equal(events.filter((e) => e.type === 'instance.disabled').length, 1);
});

test('credentials: only keys holding credentials:read may read them', async () => {
  const created = await createCustom('guarded');
  const key = await app.call('POST', '/api-keys', { body: { name: 'reader', permissions: ['instances:read'] } });
  assert.equal(key.status, 201, key.text);
  const refused = await app.call('GET', `/instances/${created.id}/credentials`, { apiKey: key.body.secret });
  assert.equal(refused.status, 403);
  assert.ok(!refused.text.includes(API_KEY_CANARY));
  const list = await app.call('GET', '/instances', { apiKey: key.body.secret });
  assert.equal(list.status, 200);
});

test('basic credentials: stored sealed and read back; both parts are required', async () => {
  const created = await app.call('POST', '/instances', { body: { element: { key: 'basic-auth' }, name: 'b', credentials: { username: 'ann', password: 'pw-canary-77' } } });
  assert.equal(created.status, 201, created.text);
  assert.ok(!created.text.includes('pw-canary-77'));
  const creds = await app.call('GET', `/instances/${created.body.id}/credentials`);
  assert.deepEqual(creds.body, { type: 'basic', username: 'ann', password: 'pw-canary-77' });
  const half = await app.call('POST', '/instances', { body: { element: { key: 'basic-auth' }, name: 'b', credentials: { username: 'ann' } } });
  assert.equal(half.status, 400);
  assert.equal(half.body.details[0].path, 'body.credentials');
  const tenant = await app.call('POST', '/instances', { body: { element: { key: 'keyed-tenant' }, name: 't', credentials: { apiKey: 'k' }, configuration: { tenant: 'acme' } } });
  assert.equal(tenant.status, 201, tenant.text);
  assert.deepEqual(tenant.body.configuration, { tenant: 'acme' });
});

test('the wrong kind of credentials is refused with its path', async () => {
  const noCreds = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'x' } });
  assert.equal(noCreds.status, 400);
  assert.equal(noCreds.body.details[0].path, 'body.credentials.apiKey');
  const code = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'x', providerData: { code: 'abc' } } });
  assert.equal(code.status, 400);
  assert.equal(code.body.details[0].path, 'body.providerData');
  const both = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'x', credentials: { apiKey: 'a' }, tokens: { accessToken: 'b' } } });
  assert.equal(both.status, 400);
  const unknownField = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'x', credentials: { apiKey: 'a' }, colour: 'red' } });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.body.code, 'VALIDATION_FAILED');
  const unknownConnector = await app.call('POST', '/instances', { body: { element: { key: 'nope' }, name: 'x', credentials: { apiKey: 'a' } } });
  assert.equal(unknownConnector.status, 404);
  const missingConfig = await app.call('POST', '/instances', { body: { element: { key: 'keyed-tenant' }, name: 'x', credentials: { apiKey: 'a' } } });
  assert.equal(missingConfig.status, 400);
  assert.equal(missingConfig.body.details[0].path, 'body.configuration.tenant');
  const halfClient = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name: 'x', credentials: { apiKey: 'a' }, apiKey: 'id-only' } });
  assert.equal(halfClient.status, 400);
  assert.equal(halfClient.body.details[0].path, 'body.apiSecret');
});

test('tenancy: another organization sees 404 for every instance route and changes nothing', async () => {
  const created = await createCustom('private');
  const org = await app.call('POST', '/organizations', { body: { name: 'Other org' } });
  assert.equal(org.status, 201, org.text);
  const other: string = org.body.apiKey.secret;
  for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['GET', '/credentials'], ['PUT', '/enabled'], ['DELETE', '/enabled'], ['DELETE', '']] as const) {
    const res = await app.call(method, `/instances/${created.id}${suffix}`, { apiKey: other, ...(method === 'PATCH' ? { body: { name: 'stolen' } } : {}) });
    assert.equal(res.status, 404, `${method} ${suffix}: ${res.text}`);
  }
  assert.equal((await app.call('GET', '/instances', { apiKey: other })).body.instances.length, 0);
  const still = await app.call('GET', `/instances/${created.id}`);
  assert.equal(still.body.name, 'private');
  assert.equal(still.body.status, 'active');
});

test('Element token: resolves to its instance; wrong, disabled or deleted tokens are refused', async () => {
  const created = await createCustom('element');
  const resolver = app.ctx.hooks.resolveInstanceToken;
  assert.ok(resolver !== null);
  const orgId = app.admin.organizationId;
  assert.deepEqual(await resolver(app.ctx, { orgId, userId: 'u', instanceToken: created.token }), { instanceId: created.id });
  assert.equal(await resolver(app.ctx, { orgId: 'another-org', userId: 'u', instanceToken: created.token }), null);
  const at = created.token.length - 10;
  const tampered = `${created.token.slice(0, at)}${created.token[at] === 'x' ? 'y' : 'x'}${created.token.slice(at + 1)}`;
  assert.notEqual(tampered, created.token);
  assert.equal(await resolver(app.ctx, { orgId, userId: 'u', instanceToken: tampered }), null);
  assert.equal(await resolver(app.ctx, { orgId, userId: 'u', instanceToken: 'garbage' }), null);
  await app.call('DELETE', `/instances/${created.id}/enabled`);
  assert.equal(await resolver(app.ctx, { orgId, userId: 'u', instanceToken: created.token }), null);
  await app.call('PUT', `/instances/${created.id}/enabled`);
  assert.equal((await app.call('DELETE', `/instances/${created.id}`)).status, 200);
  assert.equal(await resolver(app.ctx, { orgId, userId: 'u', instanceToken: created.token }), null);
  assert.equal((await app.call('GET', `/instances/${created.id}`)).status, 404);
});

test('secrets: the API key is sealed in its column and never logged', async () => {
  const created = await createCustom('sealed');
  const row = await app.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
  assert.ok(row.api_key !== null && row.api_key.startsWith('pb1.'));
  assert.ok(!JSON.stringify(row).includes(API_KEY_CANARY));
  assert.ok(!app.logs.join('\n').includes(API_KEY_CANARY));
  assert.ok(!app.logs.join('\n').includes(created.token));
});

test('re-authenticate in place with new credentials, also from revoked: same id, name, tags; new secret; event', async () => {
  const created = await createCustom('rotate me', { tags: ['rot'] });
  await app.ctx.store.db.updateTable('connections').set({ revoked: 1, valid: 0, status: 'revoked', api_key: null }).where('id', '=', created.id).execute();
  const refused = await app.call('GET', `/instances/${created.id}/credentials`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'INSTANCE_REVOKED');
  const res = await app.call('PATCH', `/instances/${created.id}`, { body: { credentials: { apiKey: 'new-key-canary' } } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual([res.body.id, res.body.name, res.body.tags, res.body.status, res.body.valid], [created.id, 'rotate me', ['rot'], 'active', true]);
  assert.ok(!res.text.includes('new-key-canary'));
  assert.equal((await app.call('GET', `/instances/${created.id}/credentials`)).body.apiKey, 'new-key-canary');
  const events = await app.ctx.store.db.selectFrom('events').select(['type', 'data']).where('instance_id', '=', created.id).where('type', '=', 'instance.reauthenticated').execute();
  assert.equal(events.length, 1);
  assert.deepEqual(JSON.parse(events[0].data), { from: 'revoked', to: 'active' });
  const wrongKind = await app.call('PATCH', `/instances/${created.id}`, { body: { providerData: { code: 'c' } } });
  assert.equal(wrongKind.status, 400);
  const missing = await app.call('PATCH', '/instances/no-such-instance', { body: { name: 'x' } });
  assert.equal(missing.status, 404);
  const empty = await app.call('PATCH', `/instances/${created.id}`, { body: { name: '' } });
  assert.equal(empty.status, 400);
});

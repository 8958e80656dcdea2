/**
 * HTTP behaviour of the foundation server, end to end on the embedded store: request ids, authentication failures,
 * permissions, every kind of bad input (each a 4xx naming the field, never a 500 or a stack trace, nothing stored
 * lost), the foundation endpoints, the OpenAPI document and the reference page.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../../test/support/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp({ config: { bodyLimit: 4096 } });
});
after(async () => {
  await app.close();
});

function assertErrorBody(res: { status: number; body: any; headers: Record<string, unknown>; text: string }, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.code, code, res.text);
  assert.equal(typeof res.body.message, 'string');
  assert.equal(res.body.requestId, res.headers['x-request-id']);
  assert.doesNotMatch(res.text, /\n\s+at |node_modules|\.ts:\d+/, 'no stack trace in an error body');
}

async function orgCount(): Promise<number> {
  const row = await app.ctx.store.db.selectFrom('organizations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

test('health and readiness answer without credentials', async () => {
  assert.deepEqual((await app.call('GET', '/health', { apiKey: null })).body, { status: 'ok' });
  const ready = await app.call('GET', '/ready', { apiKey: null });
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  assert.equal(ready.body.store, 'sqlite');
});

test('a well-formed X-Request-Id is echoed; a malformed one is replaced', async () => {
  const echoed = await app.call('GET', '/nope', { headers: { 'x-request-id': 'trace-abc.123' } });
  assert.equal(echoed.headers['x-request-id'], 'trace-abc.123');
  assert.equal(echoed.body.requestId, 'trace-abc.123');
  const replaced = await app.call('GET', '/health', { headers: { 'x-request-id': 'bad id <script>' } });
  assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('an unknown endpoint is ROUTE_NOT_FOUND with the error body', async () => {
  assertErrorBody(await app.call('GET', '/no/such/endpoint'), 404, 'ROUTE_NOT_FOUND');
});

test('a known path with another method is METHOD_NOT_ALLOWED with an Allow header', async () => {
  const res = await app.call('PATCH', '/health');
  assertErrorBody(res, 405, 'METHOD_NOT_ALLOWED');
  assert.equal(res.headers.allow, 'GET');
  const withParam = await app.call('PUT', '/api-keys/some-id');
  assertErrorBody(withParam, 405, 'METHOD_NOT_ALLOWED');
  assert.equal(withParam.headers.allow, 'DELETE, GET');
  assertErrorBody(await app.call('PUT', '/api-keys/some-id/extra'), 404, 'ROUTE_NOT_FOUND');
});

test('missing, malformed, unknown and wrong credentials are all the same 401', async () => {
  const validShape = `pb_${'0'.repeat(12)}_${'A'.repeat(43)}`;
  const wrongSecret = app.apiKey.slice(0, -4) + (app.apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const cases: Array<{ apiKey?: string | null; authorization?: string }> = [
    { apiKey: null },
    { authorization: 'Bearer' },
    { authorization: 'Basic YWRtaW46YWRtaW4=' },
    { apiKey: 'not-a-key' },
    { apiKey: validShape },
    { apiKey: wrongSecret },
    { authorization: `User ${app.admin.userSecret}` },
    { authorization: `User ${app.admin.userSecret}, Organization ${app.admin.userSecret}` },
    { authorization: `User ${app.admin.userSecret}, Element some-instance-token` },
  ];
  for (const c of cases) {
    const res = await app.call('GET', '/api-keys', c);
    assertErrorBody(res, 401, 'UNAUTHENTICATED');
    assert.ok(res.headers['www-authenticate']);
  }
});

test('User <secret>, Organization <secret> authenticates as that user in that organization', async () => {
  const res = await app.call('GET', '/organizations', { authorization: `User ${app.admin.userSecret}, Organization ${app.admin.organizationSecret}` });
  assert.equal(res.status, 200);
  assert.ok(res.body.organizations.some((o: { id: string }) => o.id === app.admin.organizationId));
});

test('a user secret of one organization with the secret of another is refused', async () => {
  const other = await app.call('POST', '/organizations', { body: { name: 'Other' } });
  assert.equal(other.status, 201);
  const res = await app.call('GET', '/organizations', { authorization: `User ${app.admin.userSecret}, Organization ${other.body.organizationSecret}` });
  assertErrorBody(res, 401, 'UNAUTHENTICATED');
  const own = await app.call('GET', '/organizations', { authorization: `User ${other.body.userSecret}, Organization ${other.body.organizationSecret}` });
  assert.deepEqual(own.body.organizations.map((o: { id: string }) => o.id), [other.body.organization.id]);
});

test('a key without the route permission gets 403 FORBIDDEN; keys cannot grant what their creator lacks', async () => {
  const limited = await app.call('POST', '/api-keys', { body: { name: 'reader', permissions: ['instances:read'] } });
  assert.equal(limited.status, 201);
  assertErrorBody(await app.call('GET', '/api-keys', { apiKey: limited.body.secret }), 403, 'FORBIDDEN');
  const writer = await app.call('POST', '/api-keys', { body: { name: 'writer', permissions: ['api-keys:write'] } });
  const escalate = await app.call('POST', '/api-keys', { apiKey: writer.body.secret, body: { name: 'x', permissions: ['platform:admin'] } });
  assertErrorBody(escalate, 403, 'FORBIDDEN');
  assert.equal(escalate.body.details[0].path, 'body.permissions');
});

test('a revoked key stops working at once and stays listed with revokedAt', async () => {
  const created = await app.call('POST', '/api-keys', { body: { name: 'short-lived' } });
  assert.equal((await app.call('GET', '/api-keys', { apiKey: created.body.secret })).status, 200);
  const revoked = await app.call('DELETE', `/api-keys/${created.body.id}`);
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.revokedAt);
  assertErrorBody(await app.call('GET', '/api-keys', { apiKey: created.body.secret }), 401, 'UNAUTHENTICATED');
  const list = await app.call('GET', '/api-keys');
  const row = list.body.apiKeys.find((k: { id: string }) => k.id === created.body.id);
  assert.ok(row.revokedAt);
  assert.ok(!list.text.includes(created.body.secret), 'listings never contain secrets');
  assertErrorBody(await app.call('DELETE', '/api-keys/does-not-exist'), 404, 'NOT_FOUND');
});

test('bad bodies are 400/413/415 naming the field, and nothing stored is lost', async () => {
  const before = await orgCount();
  const wrongType = await app.call('POST', '/organizations', { body: { name: 42 } });
  assertErrorBody(wrongType, 400, 'VALIDATION_FAILED');
  assert.equal(wrongType.body.details[0].path, 'body.name');
  assert.match(wrongType.body.details[0].message, /string/);

  const missing = await app.call('POST', '/organizations', { body: {} });
  assertErrorBody(missing, 400, 'VALIDATION_FAILED');
  assert.equal(missing.body.details[0].path, 'body.name');

  const unknown = await app.call('POST', '/organizations', { body: { name: 'x', colour: 'red' } });
  assertErrorBody(unknown, 400, 'VALIDATION_FAILED');
  assert.equal(unknown.body.details[0].path, 'body.colour');
  assert.match(unknown.body.details[0].message, /unknown field/);

  const nested = await app.call('POST', '/organizations', { body: { name: 'x', admin: { email: 'not-an-email' } } });
  assertErrorBody(nested, 400, 'VALIDATION_FAILED');
  assert.equal(nested.body.details[0].path, 'body.admin.email');

  assertErrorBody(await app.call('POST', '/organizations', { rawBody: '{"name": "x",' }), 400, 'MALFORMED_JSON');
  assertErrorBody(await app.call('POST', '/organizations', { rawBody: '' }), 400, 'MALFORMED_JSON');
  assertErrorBody(await app.call('POST', '/organizations', { rawBody: '{"__proto__": {"x": 1}, "name": "p"}' }), 400, 'MALFORMED_JSON');
  assertErrorBody(await app.call('POST', '/organizations', { rawBody: 'name=x', contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  const big = await app.call('POST', '/organizations', { body: { name: 'x'.repeat(10_000) } });
  assertErrorBody(big, 413, 'PAYLOAD_TOO_LARGE');
  assert.match(big.body.message, /4096 bytes/);
  assertErrorBody(await app.call('POST', '/organizations', { body: [1, 2] }), 400, 'VALIDATION_FAILED');
  assertErrorBody(await app.call('GET', `/organizations/${'x'.repeat(300)}`), 400, 'VALIDATION_FAILED');
  assert.equal(await orgCount(), before);
});

test('the OpenAPI 3.1 document is generated from the route schemas', async () => {
  const res = await app.call('GET', '/openapi.json', { apiKey: null });
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
  for (const p of ['/organizations', '/api-keys', '/api-keys/{id}', '/keyring/rotate', '/health']) assert.ok(res.body.paths[p], p);
  const post = res.body.paths['/organizations'].post;
  assert.deepEqual(post.requestBody.content['application/json'].schema.required, ['name']);
  assert.equal(post.requestBody.content['application/json'].schema.additionalProperties, false);
  assert.ok(post.security.some((s: Record<string, unknown>) => 'apiKey' in s));
  assert.ok(res.body.components.securitySchemes.userOrganization);
  assert.equal(res.body.paths['/openapi.json'], undefined);
});

test('the reference page is self-contained (no external scripts or styles)', async () => {
  const res = await app.call('GET', '/docs', { apiKey: null });
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /text\/html/);
  assert.match(res.text, /openapi\.json/);
  assert.doesNotMatch(res.text, /<script[^>]+src=|<link[^>]+href="http/);
});

test('GET /me names the caller; GET /api-keys/{id} shows one key of the organization', async () => {
  const me = await app.call('GET', '/me');
  assert.equal(me.status, 200);
  assert.equal(me.body.organization.id, app.admin.organizationId);
  assert.equal(me.body.user.role, 'platform-admin');
  assert.equal(me.body.apiKeyId, app.admin.apiKeyId);
  assert.ok(me.body.permissions.includes('platform:admin'));
  const viaSecrets = await app.call('GET', '/me', { authorization: `User ${app.admin.userSecret}, Organization ${app.admin.organizationSecret}` });
  assert.equal(viaSecrets.body.apiKeyId, null);
  const limited = await app.call('POST', '/api-keys', { body: { name: 'me-limited', permissions: ['events:read'] } });
  const limitedMe = await app.call('GET', '/me', { apiKey: limited.body.secret });
  assert.deepEqual(limitedMe.body.permissions, ['events:read']);
  const one = await app.call('GET', `/api-keys/${limited.body.id}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.name, 'me-limited');
  assert.equal(one.body.secret, undefined);
  assertErrorBody(await app.call('GET', '/api-keys/unknown-id'), 404, 'NOT_FOUND');
  assertErrorBody(await app.call('GET', '/me', { apiKey: null }), 401, 'UNAUTHENTICATED');
});

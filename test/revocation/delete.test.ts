/**
 * DELETE /instances/{id} and POST /instances/{id}/revoke against the sandbox (RFC 7009, client_secret_basic):
 * local secrets destroyed at once, the refresh token revoked first, verification by introspection, a dead token
 * counted as revoked, transient failures continued in the background with retries, refusals reported with the manual
 * step, and the bad-input cases (unknown id, another organization's, a second test revoke).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getRevocationById } from '../../src/store/revocations.ts';
import { startRevocationFixture, seedConnection, withoutRevokeFlow, type RevocationFixture } from './support.ts';
import { waitFor } from '../jobs/backends.ts';
import { BACKENDS } from '../support/database.ts';

for (const backend of BACKENDS) {
describe(`revoke on delete and test revoke on ${backend}`, () => {
  let f: RevocationFixture;
  before(async () => {
    f = await startRevocationFixture({ backend });
    f.service.settings.inlineBoundMs = 2_000;
    f.service.settings.backoffBaseMs = 50;
    f.service.settings.backoffMaxMs = 200;
    f.register(withoutRevokeFlow(f.connector, 'sandbox-rfc7009'));
  });
  after(async () => {
    await f.close();
  });

  test('DELETE of an unknown instance is a 404 naming the id, and nothing is revoked', async () => {
    const before = f.sandbox.admin.count('revoke');
    const res = await f.app.call('DELETE', '/instances/inst_nope');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'NOT_FOUND');
    assert.match(res.body.message, /inst_nope/);
    assert.equal(f.sandbox.admin.count('revoke'), before);
  });

  test('POST /instances/{id}/revoke of an unknown instance is a 404', async () => {
    const res = await f.app.call('POST', '/instances/inst_nope/revoke');
    assert.equal(res.status, 404);
  });

  test('DELETE without credentials is a 401 and the connection survives', async () => {
    const c = await seedConnection(f);
    const res = await f.app.call('DELETE', `/instances/${c.id}`, { apiKey: null });
    assert.equal(res.status, 401);
    assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'active');
  });

  for (const [label, key] of [['the _revoke flow', 'sandbox'], ['a standard RFC 7009 revocation', 'sandbox-rfc7009']] as const) {
  test(`DELETE through ${label} revokes the grant, verifies by introspection, and destroys the local secrets`, async () => {
    const c = await seedConnection(f, { elementKey: key });
    const res = await f.app.call('DELETE', `/instances/${c.id}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, c.id);
    assert.equal(res.body.revoked, true);
    assert.equal(res.body.verified, true);
    assert.equal(res.body.pending, false);
    assert.equal(res.body.serviceResponse.statusCode, 200);
    assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'revoked');
    assert.equal(f.sandbox.admin.tokenState(c.accessToken).state, 'revoked');
    assert.equal((await f.app.call('GET', `/instances/${c.id}`)).status, 404);
    const row = await getRevocationById(f.app.ctx.store.db, res.body.revocationId);
    assert.equal(row?.status, 'revoked');
    assert.equal(row?.sealed_grant, null, 'the sealed grant is dropped once the revocation ends');
    assert.ok(!res.text.includes(c.accessToken) && !res.text.includes(c.refreshToken as string));
    assert.ok(!f.app.logs.join('\n').includes(c.refreshToken as string), 'no token in the logs');
    const events = await f.app.ctx.store.db.selectFrom('events').select(['type', 'data']).where('instance_id', '=', c.id).execute();
    assert.deepEqual(events.map((e) => e.type).sort(), ['instance.deleted', 'instance.revoked']);
  });
  }

  test('the standard revocation sends the refresh token first, then the access token', async () => {
    const c = await seedConnection(f, { elementKey: 'sandbox-rfc7009' });
    const before = f.sandbox.admin.count('revoke');
    const res = await f.app.call('DELETE', `/instances/${c.id}`);
    assert.equal(res.body.revoked, true);
    assert.equal(f.sandbox.admin.count('revoke') - before, 2);
    assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).revokedBy !== undefined, true);
  });

  test('an already-dead token counts as revoked', async () => {
    const c = await seedConnection(f);
    f.sandbox.admin.revokeToken(c.refreshToken as string, 'family');
    const res = await f.app.call('DELETE', `/instances/${c.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.revoked, true);
  });

  test('a refusal for good (401 invalid_client) is reported with the manual step and not retried', async () => {
    const c = await seedConnection(f, { clientSecret: 'wrong-secret' });
    const before = f.sandbox.admin.count('revoke');
    const res = await f.app.call('DELETE', `/instances/${c.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.revoked, false);
    assert.equal(res.body.pending, false);
    assert.equal(res.body.serviceResponse.statusCode, 401);
    assert.match(res.body.message.text, /by hand/);
    assert.equal(res.body.message.unregisterURL, f.connector.unregisterUrl);
    assert.equal((await f.app.call('GET', `/instances/${c.id}`)).status, 404, 'the local delete happens whatever the provider says');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(f.sandbox.admin.count('revoke') - before, 1, 'no retry of a refusal');
    assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'active');
  });

  test('a 503 continues in the background: answered pending, retried, then revoked', async () => {
    const c = await seedConnection(f);
    f.sandbox.admin.setFault('revoke', { kind: 'status', status: 503, times: 2 });
    try {
      const res = await f.app.call('DELETE', `/instances/${c.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.pending, true);
      assert.equal(res.body.revoked, false);
      assert.match(res.body.message.text, /background/);
      assert.equal((await f.app.call('GET', `/instances/${c.id}`)).status, 404);
      await waitFor(async () => (await getRevocationById(f.app.ctx.store.db, res.body.revocationId))?.status === 'revoked', 15_000, 'the background revocation');
      const row = await getRevocationById(f.app.ctx.store.db, res.body.revocationId);
      assert.ok((row?.attempts ?? 0) >= 3, `attempts: ${row?.attempts}`);
      assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'revoked');
    } finally {
      f.sandbox.admin.clearFault('revoke');
    }
  });

  test('regression: a reset connection inside the revoke flow (status 0 from its If Error branch) is retried, not a refusal', async () => {
    const c = await seedConnection(f);
    f.sandbox.admin.setFault('revoke', { kind: 'reset', times: 1 });
    try {
      const res = await f.app.call('DELETE', `/instances/${c.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.pending, true, JSON.stringify(res.body));
      await waitFor(async () => (await getRevocationById(f.app.ctx.store.db, res.body.revocationId))?.status === 'revoked', 15_000, 'the retried revocation');
      assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'revoked');
    } finally {
      f.sandbox.admin.clearFault('revoke');
    }
  });

  test('429 with Retry-After is honoured before the next attempt', async () => {
    const c = await seedConnection(f);
    f.sandbox.admin.setFault('revoke', { kind: 'rate_limit', retryAfter: 1, times: 1 });
    try {
      const started = Date.now();
      const res = await f.app.call('DELETE', `/instances/${c.id}`);
      assert.equal(res.body.pending, true);
      await waitFor(async () => (await getRevocationById(f.app.ctx.store.db, res.body.revocationId))?.status === 'revoked', 15_000, 'the revocation after Retry-After');
      assert.ok(Date.now() - started >= 950, 'the retry waited for Retry-After');
    } finally {
      f.sandbox.admin.clearFault('revoke');
    }
  });

  test('test revoke wipes the tokens, marks the instance revoked and keeps id, name, tags and configuration', async () => {
    const c = await seedConnection(f, { tags: ['crm'] });
    const res = await f.app.call('POST', `/instances/${c.id}/revoke`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.revoked, true);
    assert.equal(res.body.verified, true);
    const row = await f.app.ctx.store.db.selectFrom('connections').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
    assert.equal(row.status, 'revoked');
    assert.equal(row.access_token, null);
    assert.equal(row.refresh_token, null);
    assert.equal(row.name, `connection ${c.id}`);
    const tags = await f.app.ctx.store.db.selectFrom('connection_tags').select('tag').where('connection_id', '=', c.id).execute();
    assert.deepEqual(tags.map((t) => t.tag), ['crm']);
    const again = await f.app.call('POST', `/instances/${c.id}/revoke`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'INSTANCE_REVOKED');
  });

  test('a connector without revocation endpoint or flow: deleted locally, manual step with the unregister URL', async () => {
    const manual = { ...withoutRevokeFlow(f.connector, 'sandbox-manual'), auth: { ...f.connector.auth, revocationUrl: undefined, introspectionUrl: undefined } } as typeof f.connector;
    f.register(manual);
    {
      const c = await seedConnection(f, { elementKey: 'sandbox-manual' });
      const res = await f.app.call('DELETE', `/instances/${c.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.revoked, false);
      assert.equal(res.body.message.unregisterURL, manual.unregisterUrl);
      assert.match(res.body.message.text, /no way to revoke/);
      assert.equal((await f.app.call('GET', `/instances/${c.id}`)).status, 404);
    }
  });
});
}

/**
 * GDPR erasure requests end to end against the sandbox: validation errors first, then erasure by external user id,
 * tag and instance ids; every matching connection erased locally (secrets, configuration, tags, events) and revoked at
 * the provider, others untouched; the receipt's lines and totals; manual steps; hashed subjects; listing and paging.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRevocationFixture, seedConnection, withoutRevokeFlow, type RevocationFixture } from './support.ts';
import { waitFor } from '../jobs/backends.ts';
import { BACKENDS } from '../support/database.ts';
import { recordEvent } from '../../src/store/events.ts';

for (const backend of BACKENDS) {
describe(`erasure requests on ${backend}`, () => {
  let f: RevocationFixture;
  before(async () => {
    f = await startRevocationFixture({ backend });
    f.service.settings.backoffBaseMs = 50;
    f.service.settings.backoffMaxMs = 200;
  });
  after(async () => {
    await f.close();
  });

  async function settled(id: string): Promise<any> {
    let receipt: any;
    await waitFor(async () => {
      receipt = (await f.app.call('GET', `/erasure-requests/${id}`)).body;
      return receipt.status === 'completed' || receipt.status === 'completed_with_manual_steps';
    }, 20_000, `erasure ${id} to complete`);
    return receipt;
  }

  for (const [label, body] of [
    ['no subject', {}],
    ['two subjects', { externalUserId: 'u1', tag: 't' }],
    ['an unknown field', { externalUserId: 'u1', email: 'x@example.com' }],
    ['an empty instance list', { instanceIds: [] }],
    ['an empty external id', { externalUserId: '' }],
    ['a non-text tag', { tag: 5 }],
  ] as const) {
    test(`POST /erasure-requests with ${label} is a 400 that says what to send`, async () => {
      const res = await f.app.call('POST', '/erasure-requests', { body });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      assert.ok(Array.isArray(res.body.details) && res.body.details.length > 0);
    });
  }

  test('GET of an unknown erasure request is a 404; a forged cursor is a 400', async () => {
    assert.equal((await f.app.call('GET', '/erasure-requests/nope')).status, 404);
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'nobody-at-all' } });
    assert.equal(created.status, 202);
    const bad = await f.app.call('GET', `/erasure-requests/${created.body.id}?cursor=forged`);
    assert.equal(bad.status, 400);
    assert.equal((await f.app.call('GET', '/erasure-requests?cursor=forged')).status, 400);
    assert.equal((await f.app.call('GET', '/erasure-requests?limit=0')).status, 400);
  });

  test('erasure without matching connections completes with empty totals', async () => {
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'ghost' } });
    const receipt = await settled(created.body.id);
    assert.equal(receipt.status, 'completed');
    assert.equal(receipt.totals.connections, 0);
    assert.deepEqual(receipt.connections, []);
  });

  test('erasure of one person: all their connections erased and revoked, nobody else touched, a receipt per connection', async () => {
    const mine = await Promise.all(Array.from({ length: 6 }, (_, i) => seedConnection(f, { externalUserId: 'person-42', tags: i % 2 === 0 ? ['crm'] : [] })));
    const other = await seedConnection(f, { externalUserId: 'person-7', userId: 'user-bob' });
    for (const c of mine) await recordEvent(f.app.ctx.store.db, f.orgId, { type: 'instance.updated', instanceId: c.id, data: { note: 'about this person' } });
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-42' } });
    assert.equal(created.status, 202);
    assert.equal(created.body.status, 'pending');
    const receipt = await settled(created.body.id);
    assert.equal(receipt.status, 'completed');
    assert.deepEqual(receipt.subject, { kind: 'externalUserId', externalUserId: 'person-42' });
    assert.equal(receipt.totals.connections, 6);
    assert.equal(receipt.totals.revoked, 6);
    assert.equal(receipt.totals.verified, 6);
    assert.equal(receipt.connections.length, 6);
    for (const line of receipt.connections) {
      assert.equal(line.connector, 'sandbox');
      assert.equal(line.revoked, true);
      assert.equal(line.verified, true);
      assert.equal(line.providerStatus, 200);
      assert.equal(line.attempts, 1, 'one provider attempt each');
      assert.ok(typeof line.at === 'string');
      assert.equal(line.manualStep, null);
    }
    const db = f.app.ctx.store.db;
    const ids = mine.map((c) => c.id);
    assert.equal((await db.selectFrom('connections').select('id').where('id', 'in', ids).execute()).length, 0);
    assert.equal((await db.selectFrom('connection_tags').select('tag').where('connection_id', 'in', ids).execute()).length, 0);
    assert.equal((await db.selectFrom('events').select('id').where('instance_id', 'in', ids).execute()).length, 0);
    assert.equal((await db.selectFrom('revocations').select('id').where('erasure_id', '=', created.body.id).where('sealed_grant', 'is not', null).execute()).length, 0);
    assert.equal((await db.selectFrom('revocation_grant_batches').select('id').where('erasure_id', '=', created.body.id).execute()).length, 0, 'the batch envelope of grants is gone');
    for (const c of mine) assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'revoked');
    assert.equal(f.sandbox.admin.tokenState(other.refreshToken as string).state, 'active');
    assert.equal((await f.app.call('GET', `/instances/${other.id}`)).status, 200);
    const completed = await db.selectFrom('events').select(['type', 'data']).where('type', '=', 'erasure.completed').execute();
    assert.ok(completed.some((e) => JSON.parse(e.data).erasureRequestId === created.body.id));
  });

  test('a connector with no way to revoke: completed_with_manual_steps and the unregister URL on the line', async () => {
    const manual = { ...withoutRevokeFlow(f.connector, 'sandbox-manual'), auth: { ...f.connector.auth, revocationUrl: undefined, introspectionUrl: undefined } } as typeof f.connector;
    f.register(manual);
    await seedConnection(f, { externalUserId: 'person-9', elementKey: 'sandbox-manual' });
    await seedConnection(f, { externalUserId: 'person-9' });
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-9' } });
    const receipt = await settled(created.body.id);
    assert.equal(receipt.status, 'completed_with_manual_steps');
    assert.equal(receipt.totals.manual, 1);
    assert.equal(receipt.totals.revoked, 1);
    const line = receipt.connections.find((l: any) => l.connector === 'sandbox-manual');
    assert.equal(line.revoked, false);
    assert.equal(line.manualStep.unregisterURL, manual.unregisterUrl);
    assert.match(line.manualStep.text, /by hand/);
  });

  test('erasure by tag and by instance ids', async () => {
    const tagged = await seedConnection(f, { tags: ['gdpr-batch'] });
    const listed = await seedConnection(f);
    const untouched = await seedConnection(f, { tags: ['keep'] });
    const byTag = await f.app.call('POST', '/erasure-requests', { body: { tag: 'gdpr-batch' } });
    const byIds = await f.app.call('POST', '/erasure-requests', { body: { instanceIds: [listed.id, 'inst_unknown'] } });
    const tagReceipt = await settled(byTag.body.id);
    const idsReceipt = await settled(byIds.body.id);
    assert.deepEqual(tagReceipt.connections.map((l: any) => l.instanceId), [tagged.id]);
    assert.deepEqual(tagReceipt.subject, { kind: 'tag', tag: 'gdpr-batch' });
    assert.deepEqual(idsReceipt.connections.map((l: any) => l.instanceId), [listed.id]);
    assert.equal((await f.app.call('GET', `/instances/${untouched.id}`)).status, 200);
  });

  test('with hashing configured, the receipt shows only the hash of the external id and the store keeps no clear copy', async () => {
    f.service.settings.hashExternalIds = true;
    try {
      await seedConnection(f, { externalUserId: 'secret-person' });
      const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'secret-person' } });
      const receipt = await settled(created.body.id);
      assert.equal(receipt.subject.externalUserId, undefined);
      assert.match(receipt.subject.externalUserIdHash, /^sha256:[0-9a-f]{64}$/);
      const row = await f.app.ctx.store.db.selectFrom('erasure_requests').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
      assert.equal(row.subject, null);
      assert.ok(!JSON.stringify(receipt).includes('secret-person'));
    } finally {
      f.service.settings.hashExternalIds = false;
    }
  });

  test('transient provider failures inside a batch leave it as retry jobs; the erasure still ends with every token revoked', async () => {
    const mine = await Promise.all(Array.from({ length: 5 }, () => seedConnection(f, { externalUserId: 'person-flaky' })));
    f.sandbox.admin.setFault('revoke', { kind: 'status', status: 503, times: 3 });
    try {
      const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-flaky' } });
      const receipt = await settled(created.body.id);
      assert.equal(receipt.status, 'completed');
      assert.equal(receipt.totals.connections, 5);
      assert.equal(receipt.totals.revoked, 5);
      for (const c of mine) assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'revoked');
      const rows = await f.app.ctx.store.db.selectFrom('revocations').select(['attempts', 'sealed_grant']).where('erasure_id', '=', created.body.id).execute();
      assert.ok(rows.some((r) => r.attempts >= 2), 'some revocation needed a second attempt');
      assert.deepEqual(rows.filter((r) => r.sealed_grant !== null), [], 'no sealed grant survives');
    } finally {
      f.sandbox.admin.clearFault('revoke');
    }
  });

  test('while a batch runs, its grants are in one sealed envelope named by each pending revocation; it goes when the batch ends', async () => {
    const mine = await Promise.all(Array.from({ length: 3 }, () => seedConnection(f, { externalUserId: 'person-slow' })));
    const db = f.app.ctx.store.db;
    f.sandbox.admin.setFault('revoke', { kind: 'latency', latencyMs: 400, times: 1_000 });
    let erasureId = '';
    try {
      erasureId = (await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-slow' } })).body.id;
      await waitFor(async () => (await db.selectFrom('revocations').select('id').where('erasure_id', '=', erasureId).execute()).length === 3, 20_000, 'the batch to be collected');
      const envelopes = await db.selectFrom('revocation_grant_batches').selectAll().where('erasure_id', '=', erasureId).execute();
      assert.equal(envelopes.length, 1, 'one envelope for the batch');
      const rows = await db.selectFrom('revocations').select(['sealed_grant', 'grant_batch_id', 'status']).where('erasure_id', '=', erasureId).execute();
      for (const row of rows) {
        if (row.status !== 'pending') continue;
        assert.equal(row.sealed_grant, null, 'no per-revocation envelope');
        assert.equal(row.grant_batch_id, envelopes[0]?.id);
      }
      for (const c of mine) assert.ok(!JSON.stringify(envelopes).includes(c.refreshToken as string), 'the envelope is sealed');
    } finally {
      f.sandbox.admin.clearFault('revoke');
    }
    const receipt = await settled(erasureId);
    assert.equal(receipt.totals.revoked, 3);
    assert.equal((await db.selectFrom('revocation_grant_batches').select('id').where('erasure_id', '=', erasureId).execute()).length, 0);
    assert.equal((await db.selectFrom('revocations').select('id').where('erasure_id', '=', erasureId).where('grant_batch_id', 'is not', null).execute()).length, 0);
  });

  test('a batch seals its grants in one envelope; a retry moves its grant to its own and the envelope goes with the batch', async () => {
    const mine = await Promise.all(Array.from({ length: 4 }, () => seedConnection(f, { externalUserId: 'person-envelope' })));
    const db = f.app.ctx.store.db;
    // Every revoke fails until the fault is cleared: the batch ends with all four as retry jobs.
    f.sandbox.admin.setFault('revoke', { kind: 'status', status: 503, times: 1_000 });
    let erasureId = '';
    try {
      const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-envelope' } });
      erasureId = created.body.id;
      await waitFor(async () => {
        const rows = await db.selectFrom('revocations').select(['sealed_grant', 'grant_batch_id', 'attempts']).where('erasure_id', '=', erasureId).execute();
        return rows.length === 4 && rows.every((r) => r.attempts >= 1 && r.sealed_grant !== null && r.grant_batch_id === null);
      }, 20_000, 'every revocation of the batch to wait for a retry with its own envelope');
      assert.equal((await db.selectFrom('revocation_grant_batches').select('id').where('erasure_id', '=', erasureId).execute()).length, 0, 'no batch envelope outlives its batch');
      const stored = JSON.stringify(await db.selectFrom('revocations').selectAll().where('erasure_id', '=', erasureId).execute());
      for (const c of mine) assert.ok(!stored.includes(c.refreshToken as string), 'grants are stored sealed, never in clear');
    } finally {
      f.sandbox.admin.clearFault('revoke');
    }
    const receipt = await settled(erasureId);
    assert.equal(receipt.totals.revoked, 4);
    assert.equal((await db.selectFrom('revocations').select('id').where('erasure_id', '=', erasureId).where('sealed_grant', 'is not', null).execute()).length, 0);
    for (const c of mine) assert.equal(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'revoked');
  });

  test('a batch delivered again after its receipt lines were written calls no provider and counts nothing twice', async () => {
    await Promise.all(Array.from({ length: 4 }, () => seedConnection(f, { externalUserId: 'person-redo' })));
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-redo' } });
    const receipt = await settled(created.body.id);
    assert.equal(receipt.totals.revoked, 4);
    const ids = (await f.app.ctx.store.db.selectFrom('revocations').select(['id', 'element_key']).where('erasure_id', '=', created.body.id).execute());
    const calls = f.sandbox.admin.count('revoke');
    await f.service.enqueueBatches(f.orgId, created.body.id, ids);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(f.sandbox.admin.count('revoke'), calls, 'no provider call for ended rows');
    const request = await f.app.ctx.store.db.selectFrom('erasure_requests').select(['remaining', 'status']).where('id', '=', created.body.id).executeTakeFirstOrThrow();
    assert.equal(request.remaining, 0);
    assert.equal(request.status, 'completed');
  });

  test('a batch run counts its attempt number for every row it ends: rows a redone batch ends say so', async () => {
    // An erasure with nothing to collect yet, then rows collected into it by hand and run by one batch job run that
    // is its third attempt (its first two were cut short before reaching these rows).
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'person-attempts' } });
    await settled(created.body.id);
    await Promise.all(Array.from({ length: 3 }, () => seedConnection(f, { externalUserId: 'person-attempts' })));
    const db = f.app.ctx.store.db;
    const request = await db.selectFrom('erasure_requests').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    const service = f.service as unknown as {
      matching: (orgId: string, request: unknown, limit: number) => Promise<unknown[]>;
      eraseBatch: (orgId: string, request: unknown, rows: unknown[]) => Promise<Array<{ id: string }>>;
      runBatchJob: (data: unknown, job: unknown) => Promise<void>;
    };
    const collected = await service.eraseBatch(f.orgId, request, await service.matching(f.orgId, request, 10));
    assert.equal(collected.length, 3);
    const ids = collected.map((r) => r.id);
    const before = await db.selectFrom('revocations').select(['attempts', 'status']).where('id', 'in', ids).execute();
    assert.deepEqual(before.map((r) => [r.status, r.attempts]), [['pending', 0], ['pending', 0], ['pending', 0]]);
    await service.runBatchJob(
      { orgId: f.orgId, erasureId: created.body.id, provider: 'sandbox', revocationIds: ids },
      { jobId: 'test', name: 'erasure.revoke-batch', attempt: 3, maxAttempts: 20, isLastAttempt: false, signal: new AbortController().signal },
    );
    const after = await db.selectFrom('revocations').select(['attempts', 'status']).where('id', 'in', ids).execute();
    assert.deepEqual(after.map((r) => [r.status, r.attempts]), [['revoked', 3], ['revoked', 3], ['revoked', 3]]);
  });

  test('collecting a large erasure gives the event loop a turn after every batch (the API stays responsive)', async () => {
    await Promise.all(Array.from({ length: 8 }, () => seedConnection(f, { externalUserId: 'many-batches' })));
    const service = f.service as unknown as { eraseBatch: (...args: unknown[]) => Promise<unknown> };
    const original = service.eraseBatch;
    const size = f.service.settings.collectionBatchSize;
    f.service.settings.collectionBatchSize = 2;
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turns: number[] = [];
    service.eraseBatch = async function (this: unknown, ...args: unknown[]) {
      turns.push(turn);
      return original.apply(this, args);
    };
    try {
      const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'many-batches' } });
      const receipt = await settled(created.body.id);
      assert.equal(receipt.totals.connections, 8);
    } finally {
      service.eraseBatch = original;
      f.service.settings.collectionBatchSize = size;
      ticking = false;
    }
    assert.equal(turns.length, 4, 'four batches of two');
    for (let i = 1; i < turns.length; i += 1) assert.ok((turns[i] as number) > (turns[i - 1] as number), `batch ${i + 1} ran in the same event-loop turn as batch ${i}: ${turns.join(', ')}`);
  });

  test('receipt lines and the request list page with cursors', async () => {
    await Promise.all(Array.from({ length: 5 }, () => seedConnection(f, { externalUserId: 'pager' })));
    const created = await f.app.call('POST', '/erasure-requests', { body: { externalUserId: 'pager' } });
    await settled(created.body.id);
    const first = (await f.app.call('GET', `/erasure-requests/${created.body.id}?limit=2`)).body;
    assert.equal(first.connections.length, 2);
    assert.ok(first.nextCursor);
    const second = (await f.app.call('GET', `/erasure-requests/${created.body.id}?limit=10&cursor=${first.nextCursor}`)).body;
    assert.equal(second.connections.length, 3);
    assert.equal(second.nextCursor, null);
    const seen = new Set([...first.connections, ...second.connections].map((l: any) => l.instanceId));
    assert.equal(seen.size, 5);
    const list = (await f.app.call('GET', '/erasure-requests?limit=1')).body;
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].id, created.body.id, 'newest first');
    const rest = (await f.app.call('GET', `/erasure-requests?limit=200&cursor=${list.nextCursor}`)).body;
    assert.ok(rest.items.length >= 1);
    assert.ok(!rest.items.some((i: any) => i.id === created.body.id));
  });
});
}

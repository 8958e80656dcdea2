/**
 * The per-connection lock and the events log, on the real store: callers of one connection run one at a time, other
 * connections are not held up, nested calls do not deadlock, a crashed holder's lease expires and is taken over, a
 * live lease held elsewhere makes a bounded wait end in CONFLICT, and event data refuses anything that looks like a
 * secret.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { withConnectionLock } from '../../src/auth/lock.ts';
import { insertConnection } from '../../src/store/connections.ts';
import { recordEvent, eventsOfInstance } from '../../src/store/events.ts';
import { initialState } from '../../src/core/connection.ts';
import { newId } from '../../src/crypto/random.ts';
import { PlugboardError } from '../../src/core/errors.ts';

let app: TestApp;
let orgId: string;

async function connection(): Promise<string> {
  const id = newId();
  const now = new Date().toISOString();
  await insertConnection(app.ctx.store.db, app.ctx.vault, orgId, {
    id, elementKey: 'x', name: 'lock test', externalUserId: null, configuration: {}, baseUrl: null, authType: 'custom', state: initialState(true),
    tokenLookup: newId().slice(0, 12), tokenHash: 'h', tokenType: null, expiresAt: null, scope: null, clientId: null, tags: [], lastAuthenticatedAt: now, now,
  }, { api_key: 'k' });
  return id;
}

before(async () => {
  app = await startTestApp();
  orgId = app.admin.organizationId;
});
after(async () => { await app.close(); });

test('callers of one connection never overlap; another connection is not held up', async () => {
  const a = await connection();
  const b = await connection();
  let inside = 0;
  let maxInside = 0;
  const order: string[] = [];
  const work = (label: string) => withConnectionLock(app.ctx, orgId, a, async () => {
    inside += 1;
    maxInside = Math.max(maxInside, inside);
    await new Promise((resolve) => setTimeout(resolve, 15));
    order.push(label);
    inside -= 1;
  });
  await Promise.all([work('1'), work('2'), work('3'), withConnectionLock(app.ctx, orgId, b, async () => { order.push('other'); })]);
  assert.equal(maxInside, 1);
  assert.deepEqual(order.filter((label) => label !== 'other'), ['1', '2', '3'], 'first come, first served');
  assert.ok(order.indexOf('other') < order.indexOf('3'), 'a different connection did not wait for the busy one');
  const row = await app.ctx.store.db.selectFrom('connections').select(['lease_owner', 'lease_until']).where('id', '=', a).executeTakeFirstOrThrow();
  assert.deepEqual(row, { lease_owner: null, lease_until: null }, 'the lease is released');
});

test('a nested call for the same connection runs at once instead of deadlocking', async () => {
  const a = await connection();
  const result = await withConnectionLock(app.ctx, orgId, a, () => withConnectionLock(app.ctx, orgId, a, async () => 'inner'));
  assert.equal(result, 'inner');
});

test('the lease is released when fn throws, and the error is passed on', async () => {
  const a = await connection();
  await assert.rejects(withConnectionLock(app.ctx, orgId, a, async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await withConnectionLock(app.ctx, orgId, a, async () => 'next'), 'next');
});

test('a crashed holder\'s expired lease is taken over; a live one elsewhere ends a bounded wait in CONFLICT', async () => {
  const a = await connection();
  await app.ctx.store.db.updateTable('connections').set({ lease_owner: 'dead-process', lease_until: new Date(Date.now() - 1000).toISOString() }).where('id', '=', a).execute();
  assert.equal(await withConnectionLock(app.ctx, orgId, a, async () => 'taken over'), 'taken over');
  await app.ctx.store.db.updateTable('connections').set({ lease_owner: 'other-process', lease_until: new Date(Date.now() + 60_000).toISOString() }).where('id', '=', a).execute();
  let ran = false;
  await assert.rejects(withConnectionLock(app.ctx, orgId, a, async () => { ran = true; }, { waitMs: 100 }), (e: unknown) => e instanceof PlugboardError && e.code === 'CONFLICT');
  assert.equal(ran, false);
  const row = await app.ctx.store.db.selectFrom('connections').select('lease_owner').where('id', '=', a).executeTakeFirstOrThrow();
  assert.equal(row.lease_owner, 'other-process', 'another holder\'s lease is never released by us');
});

test('a lock on another organization\'s connection takes no lease on it', async () => {
  const a = await connection();
  await withConnectionLock(app.ctx, 'another-org', a, async () => {
    const row = await app.ctx.store.db.selectFrom('connections').select('lease_owner').where('id', '=', a).executeTakeFirstOrThrow();
    assert.equal(row.lease_owner, null);
  });
});

test('events: recorded per instance, newest first; secret-looking keys are refused', async () => {
  const a = await connection();
  await recordEvent(app.ctx.store.db, orgId, { type: 'instance.updated', instanceId: a, data: { changed: ['name'] }, occurredAt: '2026-01-01T00:00:00.000Z' });
  await recordEvent(app.ctx.store.db, orgId, { type: 'instance.disabled', instanceId: a, data: {}, occurredAt: '2026-01-02T00:00:00.000Z' });
  assert.deepEqual((await eventsOfInstance(app.ctx.store.db, orgId, a)).map((e) => e.type), ['instance.disabled', 'instance.updated']);
  assert.deepEqual(await eventsOfInstance(app.ctx.store.db, 'another-org', a), []);
  for (const data of [{ accessToken: 'x' }, { nested: { client_secret: 'x' } }, { code: 'x' }, { apiKey: 'x' }, { password: 'x' }]) {
    await assert.rejects(recordEvent(app.ctx.store.db, orgId, { type: 'instance.updated', instanceId: a, data }), /may not carry secrets/);
  }
});

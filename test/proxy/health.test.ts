/**
 * Connection health on a real app against the sandbox: `POST /instances/{id}/authping` on a live and on a revoked
 * connection, refusals (unknown, disabled), a checker round that refreshes a token about to expire unused and pings
 * an idle connection, and N consecutive refresh failures disabling the connection with its reason.
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { deployConnector, hostedCallback, sandboxDefinition, startAndAuthorize } from '../connections/fixtures.ts';
import { jitteredDelay, runHealthRound, selectCandidates, type HealthSettings } from '../../src/health/checker.ts';
import { getHealth } from '../../src/proxy/usage.ts';

let app: TestApp;
let sandbox: Sandbox;
const CLIENT = { id: 'pb-health', secret: 'pb-health-secret' };

before(async () => {
  [app, sandbox] = await Promise.all([startTestApp(), startSandbox({ autoApprove: true })]);
  sandbox.admin.createClient({ id: CLIENT.id, secret: CLIENT.secret });
  await deployConnector(app, sandboxDefinition(sandbox, 'sbx-health'), CLIENT);
});

after(async () => {
  await Promise.all([app.close(), sandbox.close()]);
});

async function connect(tag: string): Promise<{ id: string }> {
  const { params } = await startAndAuthorize(app, 'sbx-health', { tags: tag });
  assert.equal((await hostedCallback(app, params)).status, 200);
  return (await app.call('GET', `/instances?tags=${tag}`)).body.instances[0];
}

const settings = (over: Partial<HealthSettings> = {}): HealthSettings => ({ intervalMs: 60_000, idleMs: 3_600_000, refreshFailureLimit: 5, maxPerRound: 500, concurrency: 4, ...over });

test('authping on a live connection reports working and records the check', async () => {
  const instance = await connect('hp-live');
  const res = await app.call('POST', `/instances/${instance.id}/authping`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.working, true);
  assert.equal(res.body.valid, true);
  assert.equal(res.body.status, 'active');
  const health = await getHealth(app.ctx.store.db, app.admin.organizationId, instance.id);
  assert.equal(health?.last_check_ok, 1);
});

test('authping after the grant was revoked at the provider marks the instance invalid', async () => {
  const instance = await connect('hp-revoked');
  const token: string = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
  sandbox.admin.revokeToken(token, 'family');
  const res = await app.call('POST', `/instances/${instance.id}/authping`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.working, false);
  assert.equal(res.body.valid, false);
  const types = (await app.call('GET', `/events?instanceId=${instance.id}`)).body.events.map((e: { type: string }) => e.type);
  assert.ok(types.includes('instance.invalidated'), types.join(','));
});

test('authping of an unknown, foreign or disabled instance is refused', async () => {
  assert.equal((await app.call('POST', '/instances/nope/authping')).status, 404);
  const instance = await connect('hp-disabled');
  await app.call('DELETE', `/instances/${instance.id}/enabled`);
  const res = await app.call('POST', `/instances/${instance.id}/authping`);
  assert.equal(res.status, 409);
  assert.equal(res.body.code, 'INSTANCE_DISABLED');
  assert.equal((await app.call('POST', `/instances/${instance.id}/authping`, { apiKey: null })).status, 401);
});

test('a round refreshes a token that would expire before the next round, and pings idle connections', async () => {
  const expiring = await connect('hp-expiring');
  const idle = await connect('hp-idle');
  const soon = new Date(Date.now() + 90_000).toISOString();
  await app.ctx.store.db.updateTable('connections').set({ expires_at: soon }).where('id', '=', expiring.id).execute();
  await app.ctx.store.db.updateTable('connections').set({ created_at: '2001-01-01T00:00:00.000Z' }).where('id', '=', idle.id).execute();
  const candidates = await selectCandidates(app.ctx, settings());
  assert.deepEqual(candidates.filter((c) => c.id === expiring.id).map((c) => c.mode), ['refresh']);
  assert.deepEqual(candidates.filter((c) => c.id === idle.id).map((c) => c.mode), ['ping']);
  const refreshesBefore = sandbox.admin.count('token', { clientId: CLIENT.id });
  const report = await runHealthRound(app.ctx, settings());
  assert.ok(report.refreshed >= 1, JSON.stringify(report));
  assert.ok(report.pinged >= 1, JSON.stringify(report));
  assert.ok(sandbox.admin.count('token', { clientId: CLIENT.id }) - refreshesBefore >= 1);
  const row = await app.ctx.store.db.selectFrom('connections').select('expires_at').where('id', '=', expiring.id).executeTakeFirstOrThrow();
  assert.ok((row.expires_at as string) > soon, 'the token was renewed');
  // Issue 7 names the event instance.refreshed (not instance.token.refreshed).
  const refreshed = (await app.call('GET', `/events?instanceId=${expiring.id}`)).body.events.map((e: { type: string }) => e.type);
  assert.ok(refreshed.includes('instance.refreshed'), JSON.stringify(refreshed));
  assert.ok(!refreshed.some((t: string) => t.startsWith('instance.token.')), JSON.stringify(refreshed));
  const idleHealth = await getHealth(app.ctx.store.db, app.admin.organizationId, idle.id);
  assert.equal(idleHealth?.last_check_ok, 1);
  // Checked just now: the next round leaves it alone.
  assert.equal((await selectCandidates(app.ctx, settings())).some((c) => c.id === idle.id), false);
});

test('a connection used through the proxy recently is not pinged', async () => {
  const used = await connect('hp-used');
  await app.ctx.store.db.updateTable('connections').set({ created_at: '2001-01-01T00:00:00.000Z' }).where('id', '=', used.id).execute();
  assert.equal((await app.call('GET', `/instances/${used.id}/proxy/api/me`)).status, 200);
  // The use is recorded asynchronously; wait until it lands.
  for (let i = 0; i < 50 && (await getHealth(app.ctx.store.db, app.admin.organizationId, used.id))?.last_used_at == null; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await selectCandidates(app.ctx, settings())).some((c) => c.id === used.id), false);
});

test('after N consecutive refresh failures the connection is disabled with its reason', async () => {
  const instance = await connect('hp-failing');
  await app.ctx.store.db.updateTable('connections').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('id', '=', instance.id).execute();
  sandbox.admin.setFault('token', { kind: 'status', status: 503 });
  try {
    const limit = 3;
    for (let i = 1; i < limit; i++) {
      const res = await app.call('POST', `/instances/${instance.id}/authping`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.working, false);
      assert.equal(res.body.status, 'active', `still active after ${i} failure(s)`);
    }
    await runHealthRound(app.ctx, settings({ refreshFailureLimit: limit }));
    const shown = await app.call('GET', `/instances/${instance.id}`);
    assert.equal(shown.body.status, 'disabled');
    const events = (await app.call('GET', `/events?instanceId=${instance.id}&type=instance.disabled`)).body.events;
    assert.equal(events.length, 1);
    assert.match(String(events[0].data.reason), /3 consecutive token refreshes failed/);
    const failures = (await app.call('GET', `/events?instanceId=${instance.id}&type=instance.refresh_failed`)).body.events;
    assert.ok(failures.length >= limit, `one instance.refresh_failed per failed refresh: ${failures.length}`);
    const health = await getHealth(app.ctx.store.db, app.admin.organizationId, instance.id);
    assert.match(String(health?.disabled_reason), /consecutive token refreshes failed/);
    const proxied = await app.call('GET', `/instances/${instance.id}/proxy/api/me`);
    assert.equal(proxied.status, 409);
    assert.equal(proxied.body.code, 'INSTANCE_DISABLED');
  } finally {
    sandbox.admin.clearFault('token');
  }
});

test('jittered delays stay within 20% of the interval', () => {
  assert.equal(jitteredDelay(1000, () => 0), 800);
  assert.equal(jitteredDelay(1000, () => 1), 1200);
  for (let i = 0; i < 100; i++) {
    const d = jitteredDelay(60_000);
    assert.ok(d >= 48_000 && d <= 72_000, String(d));
  }
});

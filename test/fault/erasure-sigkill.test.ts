/**
 * Crash safety of GDPR erasure on every backend: a Plugboard process working an erasure of 1,500 connections is
 * killed with SIGKILL mid-way; a new process starts and the erasure completes: no connection skipped (each has its
 * receipt line, revoked), no token survives (none left in the store, sealed grants dropped, every refresh token dead
 * at the provider), and the other person's connection is untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSandbox } from '../../src/sandbox/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext, type AppContext } from '../../src/context.ts';
import { builtinCatalogue } from '../../src/connectors/registry.ts';
import { revocationService } from '../../src/revocation/service.ts';
import { erasureReceipt } from '../../src/revocation/receipt.ts';
import { createTestDatabase, BACKENDS } from '../support/database.ts';
import { startTestApp, testMasterKey } from '../support/app.ts';
import { repoint, seedConnection, type RevocationFixture } from '../revocation/support.ts';
import { waitFor } from '../jobs/backends.ts';

const WORKER = fileURLToPath(new URL('./fixtures/erasureWorker.ts', import.meta.url));
const CONNECTIONS = 1500;

function startWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [WORKER], {
    env: { ...process.env, ...env, PLUGBOARD_JOB_LEASE_MS: '1500', PLUGBOARD_JOB_SUPERVISE_SECONDS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

for (const backend of BACKENDS) {
  test(`SIGKILL mid-erasure on ${backend}: a restarted process completes it, none skipped, no token survives`, { timeout: 120_000 }, async () => {
    const sandbox = await startSandbox({ autoApprove: true });
    const database = await createTestDatabase(backend);
    const location = { dataDir: database.dataDir, ...(database.databaseUrl === undefined ? {} : { databaseUrl: database.databaseUrl, masterKey: testMasterKey(database) }) };
    let ctx: AppContext | undefined;
    let first: ChildProcess | undefined;
    let second: ChildProcess | undefined;
    try {
      // Seed through a full app (it bootstraps the organization), then close it: only the workers run jobs.
      const app = await startTestApp({ backend, database });
      const base = (await builtinCatalogue()).get('sandbox');
      assert.ok(base);
      const fixture = { app, sandbox, orgId: app.admin.organizationId, connector: repoint(base.definition, sandbox.url) } as unknown as RevocationFixture;
      const mine = [];
      for (let i = 0; i < CONNECTIONS; i += 1) mine.push(await seedConnection(fixture, { externalUserId: 'person-crash', tags: i % 10 === 0 ? ['t'] : [] }));
      const other = await seedConnection(fixture, { externalUserId: 'someone-else' });
      const orgId = app.admin.organizationId;
      await app.close();

      ctx = await createContext(loadConfig({}, { ...location, logLevel: 'silent', sandbox: { enabled: false } }));
      const erasure = await revocationService(ctx).createErasure(orgId, { externalUserId: 'person-crash' }, null);
      const env = { PLUGBOARD_FAULT_STORE: JSON.stringify(location), PLUGBOARD_FAULT_SANDBOX: sandbox.url };
      const db = ctx.store.db;
      const ended = async (): Promise<number> => Number((await db.selectFrom('revocations').select((eb) => eb.fn.countAll<number>().as('n')).where('erasure_id', '=', erasure.id).where('status', '!=', 'pending').executeTakeFirstOrThrow()).n);

      // The provider answers each revocation after 20 ms, so the 1,500 revocations take over a second (20 at a time)
      // and the kill lands while they run, whatever the speed of the machine.
      sandbox.admin.setFault('revoke', { kind: 'latency', latencyMs: 20 });
      const killed = startWorker(env);
      first = killed;
      await waitFor(async () => (await ended()) >= 150, 60_000, 'the first process to revoke part of the erasure');
      killed.kill('SIGKILL');
      await new Promise((resolve) => killed.once('exit', resolve));
      const atKill = await ended();
      assert.ok(atKill < CONNECTIONS, `the kill must land mid-erasure (ended: ${atKill})`);

      second = startWorker(env);
      await waitFor(async () => (await erasureReceipt(db, orgId, erasure.id, 1, undefined)).status === 'completed', 90_000, 'the erasure to complete after the restart');
      const receipt = await erasureReceipt(db, orgId, erasure.id, 10_000, undefined);
      assert.equal(receipt.totals.connections, CONNECTIONS);
      assert.equal(receipt.totals.revoked, CONNECTIONS);
      assert.equal(new Set(receipt.connections.map((l) => l.instanceId)).size, CONNECTIONS, 'one receipt line per connection');
      assert.deepEqual(new Set(receipt.connections.map((l) => l.instanceId)), new Set(mine.map((c) => c.id)));
      assert.equal((await db.selectFrom('connections').select('id').where('external_user_id', '=', 'person-crash').execute()).length, 0);
      assert.equal((await db.selectFrom('revocations').select('id').where('sealed_grant', 'is not', null).execute()).length, 0, 'no sealed grant survives');
      assert.equal((await db.selectFrom('revocations').select('id').where('grant_batch_id', 'is not', null).execute()).length, 0, 'no revocation names a grant envelope');
      assert.equal((await db.selectFrom('revocation_grant_batches').select('id').execute()).length, 0, 'no batch envelope of grants survives');
      const alive = mine.filter((c) => sandbox.admin.tokenState(c.refreshToken as string).state === 'active');
      assert.equal(alive.length, 0, `${alive.length} refresh tokens still active at the provider`);
      assert.equal(sandbox.admin.tokenState(other.refreshToken as string).state, 'active');
      assert.equal((await db.selectFrom('connections').select('id').where('id', '=', other.id).execute()).length, 1);
    } finally {
      // A failed wait leaves the first worker running; a test file with a live child never exits.
      if (first !== undefined && first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      await stop(second);
      // The parent enqueued (which opens pg-boss on PostgreSQL) but never started the queue: close it too.
      await ctx?.jobs.stop();
      await ctx?.store.close();
      await database.drop();
      await sandbox.close();
    }
  });
}

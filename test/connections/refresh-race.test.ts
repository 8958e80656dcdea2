/**
 * Regression for the refresh race: two processes on one store (PostgreSQL when configured, and SQLite), each asking
 * for a fresh token several times at the same instant for a connection whose access token has expired, must make
 * exactly one refresh at the provider. The sandbox client rotates refresh tokens with reuse detection (RFC 9700
 * §4.14.2), so a second refresh with the old refresh token would kill the whole grant: every caller must get the same
 * new token, and it must still be active.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestApp, testMasterKey, type TestApp } from '../support/app.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { deployConnector, hostedCallback, sandboxDefinition, startAndAuthorize } from './fixtures.ts';

const WORKER = fileURLToPath(new URL('./refresh-worker.ts', import.meta.url));

function runWorker(env: Record<string, string>): Promise<Array<{ token?: string; refreshed?: boolean; error?: string }>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop() as string));
    });
  });
}

for (const backend of BACKENDS) {
  describe(`refresh race across processes (${backend})`, () => {
    let database: TestDatabase;
    let app: TestApp;
    let sandbox: Sandbox;

    before(async () => {
      database = await createTestDatabase(backend);
      [app, sandbox] = await Promise.all([startTestApp({ backend, database }), startSandbox()]);
      sandbox.admin.createClient({ id: 'pb-race', secret: 'pb-race-secret', rotateRefreshTokens: true });
      await deployConnector(app, sandboxDefinition(sandbox, 'sbx-race'), { id: 'pb-race', secret: 'pb-race-secret' });
    });
    after(async () => {
      await Promise.all([app.close(), sandbox.close()]);
      await database.drop();
    });

    test('two processes, four callers each, one refresh; the rotated grant survives', async () => {
      const { params } = await startAndAuthorize(app, 'sbx-race', { tags: 'race' });
      assert.equal((await hostedCallback(app, params)).status, 200);
      const [instance] = (await app.call('GET', '/instances?tags=race')).body.instances;
      await app.ctx.store.db.updateTable('connections').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('id', '=', instance.id).execute();
      const before = sandbox.admin.count('token', { clientId: 'pb-race' });
      const env = {
        PB_DATA_DIR: database.dataDir,
        PB_ORG_ID: app.admin.organizationId,
        PB_INSTANCE_ID: instance.id,
        PB_CALLS: '4',
        PB_START_AT: String(Date.now() + 1500),
        ...(database.databaseUrl === undefined ? {} : { PB_DATABASE_URL: database.databaseUrl, PB_MASTER_KEY: testMasterKey(database) }),
      };
      const [a, b] = await Promise.all([runWorker(env), runWorker(env)]);
      const all = [...a, ...b];
      assert.deepEqual(all.filter((r) => r.error !== undefined), [], 'no caller failed');
      assert.equal(sandbox.admin.count('token', { clientId: 'pb-race' }) - before, 1, 'exactly one refresh reached the provider');
      assert.equal(new Set(all.map((r) => r.token)).size, 1, 'every caller got the same new token');
      assert.equal(all.filter((r) => r.refreshed).length, 1);
      assert.equal(sandbox.admin.tokenState(all[0].token as string).state, 'active', 'the grant was not killed by a reused refresh token');
      const row = await app.ctx.store.db.selectFrom('connections').select(['lease_owner', 'status']).where('id', '=', instance.id).executeTakeFirstOrThrow();
      assert.deepEqual(row, { lease_owner: null, status: 'active' });
    });
  });
}

/**
 * 100 concurrent proxied calls on a connection whose access token has expired, spread over two Plugboard processes
 * sharing one store: exactly one refresh reaches the provider and all 100 calls succeed, also when the provider
 * rotates refresh tokens with reuse detection (a second refresh with the old refresh token would kill the grant).
 * Runs on PostgreSQL (the deployment that has several processes) when PLUGBOARD_TEST_DATABASE_URL is set, and is
 * skipped otherwise.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startTestApp, testMasterKey, type TestApp } from '../support/app.ts';
import { createTestDatabase, POSTGRES_TEST_URL, type TestDatabase } from '../support/database.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { deployConnector, hostedCallback, sandboxDefinition, startAndAuthorize } from '../connections/fixtures.ts';

const WORKER = fileURLToPath(new URL('./app-worker.ts', import.meta.url));
const CALLS = 100;

function startWorker(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start: ${err}`));
    }, 20_000);
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve({ url: (JSON.parse(line) as { url: string }).url, child });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes('{')) reject(new Error(`worker exited with ${code}: ${err}`));
    });
  });
}

function stopWorker(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}

describe('100 concurrent calls on an expired token over two processes (PostgreSQL)', { skip: POSTGRES_TEST_URL === undefined || POSTGRES_TEST_URL === '' ? 'PLUGBOARD_TEST_DATABASE_URL is not set' : false }, () => {
  let database: TestDatabase;
  let app: TestApp;
  let sandbox: Sandbox;
  let worker: { url: string; child: ChildProcess };

  before(async () => {
    database = await createTestDatabase('postgres');
    [app, sandbox] = await Promise.all([startTestApp({ backend: 'postgres', database }), startSandbox({ autoApprove: true })]);
    sandbox.admin.createClient({ id: 'pb-proxy-plain', secret: 'pb-proxy-plain-secret' });
    sandbox.admin.createClient({ id: 'pb-proxy-rotating', secret: 'pb-proxy-rotating-secret', rotateRefreshTokens: true });
    await deployConnector(app, sandboxDefinition(sandbox, 'sbx-plain'), { id: 'pb-proxy-plain', secret: 'pb-proxy-plain-secret' });
    await deployConnector(app, sandboxDefinition(sandbox, 'sbx-rotating'), { id: 'pb-proxy-rotating', secret: 'pb-proxy-rotating-secret' });
    worker = await startWorker({ PB_DATA_DIR: database.dataDir, PB_DATABASE_URL: database.databaseUrl as string, PB_MASTER_KEY: testMasterKey(database) });
  });

  after(async () => {
    if (worker !== undefined) await stopWorker(worker.child);
    await Promise.all([app?.close(), sandbox?.close()]);
    await database?.drop();
  });

  for (const [key, clientId] of [['sbx-plain', 'pb-proxy-plain'], ['sbx-rotating', 'pb-proxy-rotating']] as const) {
    test(`${key}: one refresh at the provider, all ${CALLS} calls succeed`, async () => {
      const { params } = await startAndAuthorize(app, key, { tags: key });
      assert.equal((await hostedCallback(app, params)).status, 200);
      const [instance] = (await app.call('GET', `/instances?tags=${key}`)).body.instances;
      await app.ctx.store.db.updateTable('connections').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('id', '=', instance.id).execute();
      const refreshesBefore = sandbox.admin.count('token', { clientId });
      const pools = [new Pool(app.url, { connections: 50 }), new Pool(worker.url, { connections: 50 })];
      try {
        const results = await Promise.all(
          Array.from({ length: CALLS }, async (_, i) => {
            const res = await pools[i % 2].request({ method: 'GET', path: `/instances/${instance.id}/proxy/api/me`, headers: { authorization: `Bearer ${app.apiKey}` } });
            const text = await res.body.text();
            return { status: res.statusCode, text };
          }),
        );
        const failures = results.filter((r) => r.status !== 200);
        assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of ${CALLS} calls failed`);
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
      assert.equal(sandbox.admin.count('token', { clientId }) - refreshesBefore, 1, 'exactly one refresh reached the provider');
      const token: string = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
      assert.equal(sandbox.admin.tokenState(token).state, 'active', 'the grant survived');
      const shown = await app.call('GET', `/instances/${instance.id}`);
      assert.equal(shown.body.valid, true);
    });
  }
});

/**
 * Key rotation without downtime: while requests are served and secrets are read and written, a new data-key
 * version is added; every row is re-encrypted onto it, the old version is retired only when no row uses it, and not
 * one request or secret is lost. Runs on every backend. The probe table stands for any area's sealed column: it is
 * registered the same way areas register theirs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { startTestApp, type TestApp } from '../support/app.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { registerSealedColumn } from '../../src/store/sealed-columns.ts';
import { reencryptAll, reencryptionService } from '../../src/store/reencryption.ts';

const TABLE = 'rotation_probe';
registerSealedColumn({ table: TABLE, idColumn: 'id', orgColumn: 'org_id', field: 'secret' });

for (const backend of BACKENDS) {
  describe(`key rotation on ${backend}`, () => {
    let database: TestDatabase;
    let app: TestApp;
    let orgId = '';
    const expected = new Map<string, string>();
    const db = () => app.ctx.store.db as unknown as Kysely<any>;
    const binding = (id: string) => ({ orgId, table: TABLE, rowId: id, field: 'secret' });
    // The passes are run explicitly below; the periodic service would race them and make counts vary.
    const pauseBackgroundPasses = async () => {
      await reencryptionService(app.ctx)?.stop?.(1000);
    };

    async function writeRow(id: string): Promise<void> {
      const plaintext = `secret-of-${id}`;
      await db().insertInto(TABLE).values({ id, org_id: orgId, secret: app.ctx.vault.seal(plaintext, binding(id)) }).execute();
      expected.set(id, plaintext);
    }

    before(async () => {
      database = await createTestDatabase(backend);
      app = await startTestApp({ database });
      orgId = app.admin.organizationId;
      await pauseBackgroundPasses();
      await db().schema.createTable(TABLE).addColumn('id', 'text', (c) => c.primaryKey()).addColumn('org_id', 'text', (c) => c.notNull()).addColumn('secret', 'text', (c) => c.notNull()).execute();
      for (let i = 0; i < 250; i++) await writeRow(`row-${String(i).padStart(4, '0')}`);
    });
    after(async () => {
      await app.close();
      await database.drop();
    });

    test('rotating under load loses no request and no secret, then retires the old version', async () => {
      let serving = true;
      const failures: string[] = [];
      let served = 0;
      let written = 0;
      const ids = [...expected.keys()];
      const load = (async () => {
        while (serving) {
          const res = await app.call('GET', '/api-keys');
          if (res.status !== 200) failures.push(`GET /api-keys ${res.status}`);
          const id = ids[served % ids.length];
          const row = await db().selectFrom(TABLE).select('secret').where('id', '=', id).executeTakeFirstOrThrow();
          try {
            if (app.ctx.vault.open(row.secret, binding(id)) !== expected.get(id)) failures.push(`wrong plaintext for ${id}`);
          } catch (error) {
            failures.push(`open ${id}: ${(error as Error).message}`);
          }
          await writeRow(`live-${written++}`);
          served += 1;
        }
      })();

      const rotated = await app.call('POST', '/keyring/rotate');
      assert.equal(rotated.status, 201, rotated.text);
      assert.equal(rotated.body.version, 2);
      assert.equal(app.ctx.vault.currentVersion(), 2);
      const report = await reencryptAll(app.ctx, 0);
      serving = false;
      await load;

      assert.deepEqual(failures, []);
      assert.ok(served > 0);
      assert.ok(report.resealed >= 250, `re-sealed ${report.resealed}`);
      assert.deepEqual(report.retired, [1]);
      const rows = await db().selectFrom(TABLE).selectAll().execute();
      assert.equal(rows.length, expected.size);
      for (const row of rows) {
        assert.equal(app.ctx.vault.versionOf(row.secret), 2, `${row.id} is still on the old version`);
        assert.equal(app.ctx.vault.open(row.secret, binding(row.id)), expected.get(row.id));
      }
      const keyring = await app.call('GET', '/keyring');
      assert.deepEqual(keyring.body.versions.map((v: { version: number; status: string; current: boolean }) => [v.version, v.status, v.current]), [[1, 'retired', false], [2, 'active', true]]);
    });

    test('an old version is not retired while a row still uses it, nor before the grace period', async () => {
      const rotated = await app.call('POST', '/keyring/rotate');
      assert.equal(rotated.body.version, 3);
      // A long grace period: rows move, but version 2 stays until every process is surely on version 3.
      const early = await reencryptAll(app.ctx, 60_000);
      assert.deepEqual(early.retired, []);
      assert.equal(early.remaining[2], 0);
      const stillThere = await app.call('GET', '/keyring');
      assert.equal(stillThere.body.versions.find((v: { version: number }) => v.version === 2).status, 'active');
      const late = await reencryptAll(app.ctx, 0);
      assert.deepEqual(late.retired, [2]);
    });

    test('after a restart the store opens with the newest version only', async () => {
      await app.close();
      app = await startTestApp({ database });
      await pauseBackgroundPasses();
      assert.equal(app.ctx.vault.currentVersion(), 3);
      const rows = await db().selectFrom(TABLE).selectAll().limit(20).execute();
      for (const row of rows) assert.equal(app.ctx.vault.open(row.secret, binding(row.id)), expected.get(row.id));
    });
  });
}

/**
 * Several processes starting at once on one empty store (a rolling deploy, or replicas on PostgreSQL) must agree: one
 * default organization, one admin key, one data-key version, migrations applied once. Each "process" here is a
 * separate context with its own connections, started concurrently.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BACKENDS, createTestDatabase } from '../support/database.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { bootstrapStore } from '../../src/bootstrap.ts';

for (const backend of BACKENDS) {
  describe(`concurrent first start on ${backend}`, () => {
    test('exactly one bootstrap, one organization and one key version', async () => {
      const database = await createTestDatabase(backend);
      const masterKey = randomBytes(32).toString('base64');
      const start = async () => {
        const config = loadConfig({}, { dataDir: database.dataDir, masterKey, logLevel: 'silent', ...(database.databaseUrl === undefined ? {} : { databaseUrl: database.databaseUrl }) });
        const ctx = await createContext(config, { logStream: { write() {} } });
        return { ctx, bootstrap: await bootstrapStore(ctx, { writeFile: false }) };
      };
      const started = await Promise.all([start(), start(), start()]);
      try {
        assert.equal(started.filter((s) => s.bootstrap !== null).length, 1);
        const db = started[0].ctx.store.db;
        assert.equal(Number((await db.selectFrom('organizations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 1);
        assert.equal(Number((await db.selectFrom('api_keys').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 1);
        assert.deepEqual((await db.selectFrom('keyring').select('version').execute()).map((r) => r.version), [1]);
        for (const s of started) assert.deepEqual(s.ctx.keyring.versions(), [1]);
      } finally {
        for (const s of started) await s.ctx.store.close();
        await database.drop();
      }
    });
  });
}

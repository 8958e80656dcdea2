/**
 * Sealed values stored in the database fail closed when tampered with or moved: a ciphertext copied onto another
 * row, into another organization's row or into another column does not open, and neither does one with a changed
 * byte or a rewritten key version. Uses the real context (keyring from the store) on every backend.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { startTestApp, type TestApp } from '../support/app.ts';
import { BACKENDS } from '../support/database.ts';
import { isPlugboardError } from '../../src/core/errors.ts';

for (const backend of BACKENDS) {
  describe(`sealed columns on ${backend}`, () => {
    let app: TestApp;
    const db = () => app.ctx.store.db as unknown as Kysely<any>;
    before(async () => {
      app = await startTestApp({ backend });
      await db().schema.createTable('sealed_probe').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('org_id', 'text').addColumn('access_token', 'text').addColumn('refresh_token', 'text').execute();
      for (const [id, org] of [['r1', 'org-a'], ['r2', 'org-a'], ['r3', 'org-b']]) {
        await db().insertInto('sealed_probe').values({
          id, org_id: org,
          access_token: app.ctx.vault.seal(`access-${id}`, { orgId: org, table: 'sealed_probe', rowId: id, field: 'access_token' }),
          refresh_token: app.ctx.vault.seal(`refresh-${id}`, { orgId: org, table: 'sealed_probe', rowId: id, field: 'refresh_token' }),
        }).execute();
      }
    });
    after(async () => {
      await app.close();
    });

    async function openColumn(id: string, field: 'access_token' | 'refresh_token'): Promise<string> {
      const row = await db().selectFrom('sealed_probe').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return app.ctx.vault.open(row[field], { orgId: row.org_id, table: 'sealed_probe', rowId: id, field });
    }
    const failsClosed = (e: unknown) => isPlugboardError(e) && e.code === 'VAULT_DECRYPT_FAILED' && !/access-|refresh-/.test(e.message);

    test('untouched rows open to their own secrets', async () => {
      assert.equal(await openColumn('r1', 'access_token'), 'access-r1');
      assert.equal(await openColumn('r3', 'refresh_token'), 'refresh-r3');
    });

    test('a ciphertext swapped between rows, organizations or columns fails closed', async () => {
      const r1 = await db().selectFrom('sealed_probe').selectAll().where('id', '=', 'r1').executeTakeFirstOrThrow();
      await db().updateTable('sealed_probe').set({ access_token: r1.access_token }).where('id', '=', 'r2').execute();
      await assert.rejects(openColumn('r2', 'access_token'), failsClosed);
      await db().updateTable('sealed_probe').set({ access_token: r1.access_token }).where('id', '=', 'r3').execute();
      await assert.rejects(openColumn('r3', 'access_token'), failsClosed);
      await db().updateTable('sealed_probe').set({ access_token: r1.access_token, org_id: 'org-b' }).where('id', '=', 'r1').execute();
      await assert.rejects(openColumn('r1', 'access_token'), failsClosed);
      await db().updateTable('sealed_probe').set({ org_id: 'org-a', refresh_token: r1.access_token }).where('id', '=', 'r1').execute();
      await assert.rejects(openColumn('r1', 'refresh_token'), failsClosed);
      assert.equal(await openColumn('r1', 'access_token'), 'access-r1', 'restored, it opens again');
    });

    test('a changed byte or a rewritten key version fails closed', async () => {
      const row = await db().selectFrom('sealed_probe').selectAll().where('id', '=', 'r1').executeTakeFirstOrThrow();
      const sealed: string = row.access_token;
      const last = sealed.at(-2) === 'A' ? 'B' : 'A';
      for (const tampered of [sealed.slice(0, -2) + last + sealed.slice(-1), sealed.replace(/^pb1\.1\./, 'pb1.2.'), sealed.slice(0, -8), 'plaintext-token']) {
        await db().updateTable('sealed_probe').set({ access_token: tampered }).where('id', '=', 'r1').execute();
        await assert.rejects(openColumn('r1', 'access_token'), failsClosed);
      }
    });
  });
}

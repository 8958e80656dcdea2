/**
 * The store contract: the same suite runs on every backend (SQLite always, PostgreSQL when
 * PLUGBOARD_TEST_DATABASE_URL is set) and pins the behaviour repositories rely on: migrations applied once and
 * idempotent, portable column round trips, tenant-scoped repositories, unique constraints, transactions rolling back,
 * RETURNING, and the keyring.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { discoverMigrationNames, migrateToLatest } from '../../src/store/migrate.ts';
import { createOrganization, getOrganization, getUser, listAllOrganizations, listUsers, findUserCredential } from '../../src/store/organizations.ts';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, findApiKeyCredential } from '../../src/store/api-keys.ts';
import { addKeyVersion, initKeyring, listKeyVersions, loadDataKeys, retireKeyVersion } from '../../src/store/keyring.ts';
import { Keyring, toMasterKey } from '../../src/crypto/keyring.ts';
import { secretMatches } from '../../src/crypto/secret-hash.ts';
import { isPlugboardError } from '../../src/core/errors.ts';

for (const backend of BACKENDS) {
  describe(`store contract on ${backend}`, () => {
    let database: TestDatabase;
    let store: Store;
    const open = () => openStore({ dataDir: database.dataDir, ...(database.databaseUrl === undefined ? {} : { databaseUrl: database.databaseUrl }) });

    before(async () => {
      database = await createTestDatabase(backend);
      store = await open();
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    test('every migration on disk is applied once and re-running is a no-op', async () => {
      const onDisk = await discoverMigrationNames();
      const applied = (await store.db.selectFrom('plugboard_migrations').select('name').orderBy('name').execute()).map((r) => r.name);
      assert.deepEqual(applied, onDisk);
      assert.deepEqual(await migrateToLatest(store.db, store.dialect), []);
      assert.deepEqual(await store.pendingMigrations(), []);
      const again = await open();
      await again.close();
      assert.equal(store.dialect, backend);
    });

    test('text ids, ISO timestamps and JSON text round-trip unchanged; rows are plain objects', async () => {
      const created = await createOrganization(store.db, { name: 'Ünïcode Org ✓', adminEmail: 'a@example.com', adminName: 'A' });
      const org = await getOrganization(store.db, created.organization.id);
      assert.deepEqual(org, created.organization);
      assert.equal(Object.getPrototypeOf(org), Object.prototype);
      assert.ok(!Number.isNaN(Date.parse(org!.createdAt)));
      const key = await createApiKey(store.db, org!.id, { userId: created.user.id, name: 'k', permissions: ['instances:read', 'events:read'] });
      assert.deepEqual((await getApiKey(store.db, org!.id, key.apiKey.id))!.permissions, ['instances:read', 'events:read']);
    });

    test('counts come back as numbers on every backend', async () => {
      const row = await store.db.selectFrom('organizations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(typeof row.n, 'number');
      assert.ok(Number(row.n) >= 1);
    });

    test('repositories are scoped: another organization sees nothing and changes nothing', async () => {
      const a = await createOrganization(store.db, { name: 'A', adminEmail: 'a@a.test', adminName: 'A' });
      const b = await createOrganization(store.db, { name: 'B', adminEmail: 'b@b.test', adminName: 'B' });
      const key = await createApiKey(store.db, a.organization.id, { userId: a.user.id, name: 'a-key', permissions: ['instances:read'] });
      assert.equal(await getApiKey(store.db, b.organization.id, key.apiKey.id), undefined);
      assert.deepEqual((await listApiKeys(store.db, b.organization.id)).map((k) => k.id), []);
      assert.equal(await revokeApiKey(store.db, b.organization.id, key.apiKey.id), undefined);
      assert.equal((await getApiKey(store.db, a.organization.id, key.apiKey.id))!.revokedAt, null);
      assert.equal(await getUser(store.db, b.organization.id, a.user.id), undefined);
      assert.deepEqual((await listUsers(store.db, a.organization.id)).map((u) => u.id), [a.user.id]);
    });

    test('secrets are stored only as hashes and match in constant time', async () => {
      const created = await createOrganization(store.db, { name: 'H', adminEmail: 'h@h.test', adminName: 'H' });
      const key = await createApiKey(store.db, created.organization.id, { userId: created.user.id, name: 'k', permissions: [] });
      const lookup = key.secret.split('_')[1];
      const found = await findApiKeyCredential(store.db, lookup);
      assert.ok(found !== undefined && secretMatches(key.secret, found.secretHash));
      const raw = JSON.stringify(await store.db.selectFrom('api_keys').selectAll().execute()) + JSON.stringify(await store.db.selectFrom('users').selectAll().execute()) + JSON.stringify(await store.db.selectFrom('organizations').selectAll().execute());
      for (const secret of [key.secret, created.userSecret, created.organizationSecret]) assert.ok(!raw.includes(secret));
      const user = await findUserCredential(store.db, created.userSecret.split('_')[1]);
      assert.ok(user !== undefined && secretMatches(created.userSecret, user.secretHash) && user.orgId === created.organization.id);
    });

    test('revoking is idempotent and keeps the first revocation time', async () => {
      const created = await createOrganization(store.db, { name: 'R', adminEmail: 'r@r.test', adminName: 'R' });
      const key = await createApiKey(store.db, created.organization.id, { userId: created.user.id, name: 'k', permissions: [] });
      const first = await revokeApiKey(store.db, created.organization.id, key.apiKey.id, new Date('2030-01-01T00:00:00Z'));
      const second = await revokeApiKey(store.db, created.organization.id, key.apiKey.id, new Date('2031-01-01T00:00:00Z'));
      assert.equal(first!.revokedAt, '2030-01-01T00:00:00.000Z');
      assert.equal(second!.revokedAt, '2030-01-01T00:00:00.000Z');
    });

    test('unique constraints hold (same email twice in one organization)', async () => {
      const created = await createOrganization(store.db, { name: 'U', adminEmail: 'u@u.test', adminName: 'U' });
      await assert.rejects(
        store.db.insertInto('users').values({ id: 'dup', org_id: created.organization.id, email: 'u@u.test', name: 'x', role: 'member', secret_lookup: randomBytes(6).toString('hex'), secret_hash: 'h', created_at: new Date().toISOString() }).execute(),
      );
    });

    test('a failing transaction rolls back every statement', async () => {
      const before = (await listAllOrganizations(store.db)).length;
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.insertInto('organizations').values({ id: 'tx-1', name: 'tx', secret_lookup: 'tx-lookup', secret_hash: 'h', created_at: new Date().toISOString() }).execute();
          await trx.insertInto('organizations').values({ id: 'tx-1', name: 'dup', secret_lookup: 'tx-lookup-2', secret_hash: 'h', created_at: new Date().toISOString() }).execute();
        }),
      );
      assert.equal((await listAllOrganizations(store.db)).length, before);
    });

    test('RETURNING works on insert, update and delete', async () => {
      const now = new Date().toISOString();
      const inserted = await store.db.insertInto('organizations').values({ id: 'ret-1', name: 'r', secret_lookup: 'ret-lookup', secret_hash: 'h', created_at: now }).returning(['id', 'name']).executeTakeFirstOrThrow();
      assert.deepEqual(inserted, { id: 'ret-1', name: 'r' });
      const updated = await store.db.updateTable('organizations').set({ name: 'r2' }).where('id', '=', 'ret-1').returning('name').executeTakeFirstOrThrow();
      assert.equal(updated.name, 'r2');
      const deleted = await store.db.deleteFrom('organizations').where('id', '=', 'ret-1').returning('id').execute();
      assert.deepEqual(deleted, [{ id: 'ret-1' }]);
    });

    test('booleans and undefined are refused as parameters on SQLite as they would misbehave on PostgreSQL', { skip: backend !== 'sqlite' }, async () => {
      await assert.rejects(sql`select ${true as unknown as number} as x`.execute(store.db), /booleans as 0\/1/);
    });

    test('keyring: versions wrap under the master key, load back, and retire', async () => {
      const master = toMasterKey(randomBytes(32));
      const other = toMasterKey(randomBytes(32));
      // A separate keyring table state: start from what initKeyring does on an empty store.
      await store.db.deleteFrom('keyring').execute();
      const keyring = new Keyring();
      assert.deepEqual(await initKeyring(store.db, [master], keyring), { created: true });
      assert.deepEqual(keyring.versions(), [1]);
      const added = await addKeyVersion(store.db, master, 60_000);
      assert.equal(added.version, 2);
      keyring.replace(await loadDataKeys(store.db, [master]));
      assert.deepEqual(keyring.versions(), [1, 2]);
      assert.equal(keyring.current().version, 1, 'version 2 is not active before its activation time');
      await assert.rejects(loadDataKeys(store.db, [other]), (e: unknown) => isPlugboardError(e) && e.code === 'MASTER_KEY_MISMATCH' && /check value/.test(e.message));
      // Master-key rotation: new key first, old after; the keyring is re-wrapped under the new key.
      const rewrapped = await loadDataKeys(store.db, [other, master]);
      assert.equal(rewrapped.length, 2);
      assert.equal((await loadDataKeys(store.db, [other])).length, 2);
      await retireKeyVersion(store.db, 1);
      const versions = await listKeyVersions(store.db);
      assert.deepEqual(versions.map((v) => [v.version, v.status]), [[1, 'retired'], [2, 'active']]);
      const wrapped = await store.db.selectFrom('keyring').select('wrapped_key').where('version', '=', 1).executeTakeFirstOrThrow();
      assert.equal(wrapped.wrapped_key, '', 'a retired version keeps no key material');
      assert.deepEqual((await loadDataKeys(store.db, [other])).map((k) => k.version), [2]);
    });
  });
}

/**
 * The proxy's hot-path caches never serve what the store no longer allows: a connection disabled, revoked or deleted
 * (through the API or by another connection to the same database, as another process would) and an API key revoked
 * (likewise) are refused on the very next call, after the caches were warmed by successful calls. Also the SQLite
 * change stamp those caches rest on: it moves on every write, own or foreign, and on nothing else. On PostgreSQL (no
 * stamp; runs when PLUGBOARD_TEST_DATABASE_URL is set) the connection is read on every call.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app.ts';
import { BACKENDS } from '../support/database.ts';
import { startSandbox, type Sandbox, DEFAULT_CLIENT } from '../../src/sandbox/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { NodeSqliteDatabase, changeStampOf } from '../../src/store/sqlite/database.ts';

let sandbox: Sandbox;
let app: TestApp;
/** A second connection to the app's SQLite file: writes through it are what another process's writes look like. */
let other: Store;

before(async () => {
  sandbox = await startSandbox({ autoApprove: true });
  app = await startTestApp({ backend: 'sqlite' });
  other = await openStore({ dataDir: app.config.dataDir, migrate: false });
});

after(async () => {
  await other.close();
  await app.close();
  await sandbox.close();
});

async function sandboxInstance(name: string): Promise<{ id: string }> {
  const issued = sandbox.admin.issueTokens({ clientId: DEFAULT_CLIENT.id, userId: 'user-alice', scope: 'profile' });
  const res = await app.call('POST', '/instances', { body: { element: { key: 'sandbox' }, name, baseUrl: sandbox.url, tokens: { accessToken: issued.access_token, expiresIn: 3600 } } });
  assert.equal(res.status, 201, res.text);
  return res.body as { id: string };
}

async function proxied(id: string, apiKey?: string) {
  return app.call('GET', `/instances/${id}/proxy/api/me`, apiKey === undefined ? {} : { apiKey });
}

/** Warms the caches with a few successful calls. */
async function warm(id: string, apiKey?: string): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await proxied(id, apiKey)).status, 200);
}

test('a connection disabled through the API is refused on the next call, and works again once enabled', async () => {
  const { id } = await sandboxInstance('cache-disable');
  await warm(id);
  assert.ok((await app.call('DELETE', `/instances/${id}/enabled`)).status < 300);
  const refused = await proxied(id);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'INSTANCE_DISABLED');
  assert.ok((await app.call('PUT', `/instances/${id}/enabled`)).status < 300);
  assert.equal((await proxied(id)).status, 200);
});

test('a connection disabled, revoked or deleted by another writer of the database is refused on the next call', async () => {
  const { id } = await sandboxInstance('cache-foreign');
  await warm(id);
  await other.db.updateTable('connections').set({ disabled: 1, status: 'disabled' }).where('id', '=', id).execute();
  const disabled = await proxied(id);
  assert.equal(disabled.status, 409);
  assert.equal(disabled.body.code, 'INSTANCE_DISABLED');

  await other.db.updateTable('connections').set({ disabled: 0, revoked: 1, status: 'revoked' }).where('id', '=', id).execute();
  const revoked = await proxied(id);
  assert.equal(revoked.status, 409);
  assert.equal(revoked.body.code, 'INSTANCE_REVOKED');

  await other.db.updateTable('connections').set({ revoked: 0, status: 'active' }).where('id', '=', id).execute();
  assert.equal((await proxied(id)).status, 200);
  await other.db.deleteFrom('connection_tags').where('connection_id', '=', id).execute();
  await other.db.deleteFrom('connections').where('id', '=', id).execute();
  const deleted = await proxied(id);
  assert.equal(deleted.status, 404);
  assert.equal(deleted.body.code, 'NOT_FOUND');
});

test('a cached connection stays invisible to another organization', async () => {
  const { id } = await sandboxInstance('cache-tenancy');
  await warm(id);
  const org = await app.call('POST', '/organizations', { body: { name: 'Cache other org' } });
  assert.equal(org.status, 201, org.text);
  const foreign = await proxied(id, org.body.apiKey.secret);
  assert.equal(foreign.status, 404);
  assert.equal(foreign.body.code, 'NOT_FOUND');
});

test('an API key revoked through the API is refused on the next request', async () => {
  const { id } = await sandboxInstance('cache-key-local');
  const key = await app.call('POST', '/api-keys', { body: { name: 'cache-local', permissions: ['instances:write'] } });
  assert.equal(key.status, 201, key.text);
  await warm(id, key.body.secret);
  assert.ok((await app.call('DELETE', `/api-keys/${key.body.id}`)).status < 300);
  const refused = await proxied(id, key.body.secret);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, 'UNAUTHENTICATED');
});

test('an API key revoked by another writer of the database is refused on the next request', async () => {
  const { id } = await sandboxInstance('cache-key-foreign');
  const key = await app.call('POST', '/api-keys', { body: { name: 'cache-foreign', permissions: ['instances:write'] } });
  assert.equal(key.status, 201, key.text);
  await warm(id, key.body.secret);
  await other.db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', key.body.id).execute();
  const refused = await proxied(id, key.body.secret);
  assert.equal(refused.status, 401);
});

test('a cached key still needs its secret: a wrong secret with a valid lookup is refused', async () => {
  const { id } = await sandboxInstance('cache-key-secret');
  await warm(id);
  const [prefix, lookup, secret] = app.apiKey.split('_');
  const forged = `${prefix}_${lookup}_${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
  assert.equal((await proxied(id, forged)).status, 401);
});

test('the change stamp moves on own writes and on commits of other connections, not on reads', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'plugboard-stamp-'));
  const file = path.join(dir, 'stamp.db');
  const a = new NodeSqliteDatabase(file);
  const b = new NodeSqliteDatabase(file);
  try {
    a.prepare('create table t (x integer)').run([]);
    const s0 = a.changeStamp();
    a.prepare('select * from t').all([]);
    assert.equal(a.changeStamp(), s0, 'a read does not move the stamp');
    a.prepare('insert into t values (?)').run([1]);
    const s1 = a.changeStamp();
    assert.notEqual(s1, s0, 'an own write moves it');
    b.prepare('update t set x = ?').run([2]);
    const s2 = a.changeStamp();
    assert.notEqual(s2, s1, "another connection's commit moves it");
    a.prepare('update t set x = ? where x = ?').run([3, 99]);
    assert.equal(a.changeStamp(), s2, 'a write that changes no row leaves it');
  } finally {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only a store opened on SQLite has a change stamp; a Kysely view of it does not', () => {
  assert.equal(typeof changeStampOf(app.ctx.store.db), 'function');
  assert.equal(changeStampOf(app.ctx.store.db.withTables<{ extra: { id: string } }>()), undefined);
});

test('on PostgreSQL (no change stamp) a connection disabled by another writer and a key revoked through the API are refused at once', { skip: !BACKENDS.includes('postgres') }, async () => {
  const pg = await startTestApp({ backend: 'postgres' });
  const pgOther = await openStore({ databaseUrl: pg.config.databaseUrl as string, dataDir: pg.config.dataDir, migrate: false });
  try {
    assert.equal(changeStampOf(pg.ctx.store.db), undefined);
    const issued = sandbox.admin.issueTokens({ clientId: DEFAULT_CLIENT.id, userId: 'user-alice', scope: 'profile' });
    const created = await pg.call('POST', '/instances', { body: { element: { key: 'sandbox' }, name: 'pg-cache', baseUrl: sandbox.url, tokens: { accessToken: issued.access_token, expiresIn: 3600 } } });
    assert.equal(created.status, 201, created.text);
    const key = await pg.call('POST', '/api-keys', { body: { name: 'pg-cache', permissions: ['instances:write'] } });
    assert.equal(key.status, 201, key.text);
    const call = () => pg.call('GET', `/instances/${created.body.id}/proxy/api/me`, { apiKey: key.body.secret });
    for (let i = 0; i < 3; i++) assert.equal((await call()).status, 200);
    await pgOther.db.updateTable('connections').set({ disabled: 1, status: 'disabled' }).where('id', '=', created.body.id).execute();
    assert.equal((await call()).status, 409);
    await pgOther.db.updateTable('connections').set({ disabled: 0, status: 'active' }).where('id', '=', created.body.id).execute();
    assert.equal((await call()).status, 200);
    assert.ok((await pg.call('DELETE', `/api-keys/${key.body.id}`)).status < 300);
    assert.equal((await call()).status, 401);
  } finally {
    await pgOther.close();
    await pg.close();
  }
});

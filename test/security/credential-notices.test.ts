/**
 * Revocation across processes on PostgreSQL: two Plugboard apps on one database, each with its own API key cache. A key
 * revoked through A must be refused by B as soon as the notice arrives (bounded poll, far below the cache's 5 s
 * bound), and B must stay correct when its listening connection is killed: while it reconnects it reads the store
 * for every request (a key revoked meanwhile is refused on the very next request), and once it listens again notices
 * work as before. Notices carry ids only. Skipped without PLUGBOARD_TEST_DATABASE_URL.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, POSTGRES_TEST_URL, type TestDatabase } from '../support/database.ts';
import { API_KEY_CACHE_MS, cachedApiKeyCredential, createApiKey } from '../../src/store/api-keys.ts';
import { createOrganization } from '../../src/store/organizations.ts';
import { credentialListenerOf, parseCredentialNotice, type CredentialListener } from '../../src/store/postgres/notify.ts';
import { openStore } from '../../src/store/index.ts';
import { parseCredential } from '../../src/crypto/secret-hash.ts';

const skip = POSTGRES_TEST_URL === undefined || POSTGRES_TEST_URL === '' ? 'PLUGBOARD_TEST_DATABASE_URL is not set' : false;
/** How long a notice may take to reach the other app: a bounded poll, far below API_KEY_CACHE_MS. */
const NOTICE_BOUND_MS = 2_000;

async function until(what: string, check: () => boolean | Promise<boolean>, boundMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > boundMs) assert.fail(`${what} did not happen within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function listenerOf(app: TestApp): CredentialListener {
  const listener = credentialListenerOf(app.ctx.store.db);
  assert.ok(listener !== undefined, 'a PostgreSQL store has a credential listener');
  return listener;
}

function isCachedIn(app: TestApp, secret: string): boolean {
  const lookup = parseCredential(secret, 'pb');
  assert.ok(lookup !== null);
  return cachedApiKeyCredential(app.ctx.store.db, lookup.lookup) !== undefined;
}

test('a notice payload names one key, user or organization; anything else drops every entry', () => {
  assert.deepEqual(parseCredentialNotice('api_key:k1'), { kind: 'api_key', id: 'k1' });
  assert.deepEqual(parseCredentialNotice('user:u1'), { kind: 'user', id: 'u1' });
  assert.deepEqual(parseCredentialNotice('organization:o:1'), { kind: 'organization', id: 'o:1' });
  for (const payload of ['all', '', 'api_key:', ':k1', 'connection:c1', undefined]) assert.deepEqual(parseCredentialNotice(payload), { kind: 'all' });
});

describe('credential notices across apps sharing PostgreSQL', { skip }, () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  /** A plain connection to the same database: listens to the channel, and writes as another process would. */
  let observer: pg.Client;
  /** A connection to the maintenance database, to block and allow connections to the test database. */
  let admin: pg.Client;
  const payloads: string[] = [];

  const newKey = async (name: string): Promise<{ id: string; secret: string }> => {
    const created = await a.call('POST', '/api-keys', { body: { name } });
    assert.equal(created.status, 201);
    return { id: created.body.id, secret: created.body.secret };
  };
  /** A request to B with `secret` that reads the store at most once for authentication. */
  const callB = async (secret: string) => (await b.call('GET', '/api-keys', { apiKey: secret })).status;
  /** Uses a key on B until B serves it from its cache (so a refusal can only come from a notice or a re-read). */
  const cacheOnB = async (secret: string) => {
    assert.equal(await callB(secret), 200);
    await until('the key is cached by B', async () => (await callB(secret)) === 200 && isCachedIn(b, secret), NOTICE_BOUND_MS);
  };
  const databaseName = () => new URL(database.databaseUrl as string).pathname.slice(1);
  const allowConnections = (allow: boolean) => admin.query(`ALTER DATABASE ${databaseName()} WITH ALLOW_CONNECTIONS ${allow}`);

  before(async () => {
    database = await createTestDatabase('postgres');
    a = await startTestApp({ backend: 'postgres', database });
    b = await startTestApp({ backend: 'postgres', database });
    observer = new pg.Client({ connectionString: database.databaseUrl });
    await observer.connect();
    observer.on('notification', (message) => payloads.push(message.payload ?? ''));
    await observer.query('LISTEN plugboard_credentials');
    admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await admin.connect();
    await until('both listeners are live', () => listenerOf(a).listening && listenerOf(b).listening, 10_000);
  });

  after(async () => {
    await allowConnections(true).catch(() => {});
    await Promise.all([observer?.end(), admin?.end()]);
    await Promise.all([a?.running.close(), b?.running.close()]);
    await database?.drop();
  });

  test('a key revoked through A is refused by B once the notice arrives, far below the cache bound', async (t) => {
    const key = await newKey('revoked-through-a');
    await cacheOnB(key.secret);
    const notices = payloads.length;
    assert.equal((await a.call('DELETE', `/api-keys/${key.id}`)).status, 200);
    const elapsed = await until('B refuses the revoked key', async () => (await callB(key.secret)) === 401, NOTICE_BOUND_MS);
    assert.ok(elapsed < API_KEY_CACHE_MS / 2, `refused after ${elapsed} ms`);
    t.diagnostic(`B refused the key ${elapsed} ms after A answered the revocation`);
    // The notice names the key by id: no secret, no hash, no lookup; recording a key's use sends nothing.
    await until('the observer got the notice', () => payloads.length > notices, NOTICE_BOUND_MS);
    assert.deepEqual([...new Set(payloads.slice(notices))], [`api_key:${key.id}`]);
    assert.ok(payloads.every((p) => !p.includes(key.secret.split('_')[2] as string)));
    // Recording a key's use notifies nothing: a sentinel sent after it is the next notice to arrive (notices from one
    // session arrive in commit order).
    const beforeTouch = payloads.length;
    await observer.query('UPDATE api_keys SET last_used_at = $1', [new Date().toISOString()]);
    await observer.query("SELECT pg_notify('plugboard_credentials', 'sentinel')");
    await until('the sentinel arrives', () => payloads.includes('sentinel'), NOTICE_BOUND_MS);
    assert.deepEqual(payloads.slice(beforeTouch), ['sentinel']);
    // A's own key still works on both apps.
    assert.equal((await a.call('GET', '/api-keys')).status, 200);
    assert.equal(await callB(a.apiKey), 200);
  });

  test('deleting an organization drops its keys on B', async () => {
    const other = await createOrganization(a.ctx.store.db, { name: 'Leaving', adminEmail: 'leaving@example.test', adminName: 'Leaving' });
    const { secret } = await createApiKey(a.ctx.store.db, other.organization.id, { userId: other.user.id, name: 'leaving', permissions: ['api-keys:read'] });
    await cacheOnB(secret);
    await observer.query('DELETE FROM organizations WHERE id = $1', [other.organization.id]);
    const elapsed = await until('B refuses the deleted organization key', async () => (await callB(secret)) === 401, NOTICE_BOUND_MS);
    assert.ok(elapsed < API_KEY_CACHE_MS / 2, `refused after ${elapsed} ms`);
  });

  test('while B reconnects its listener it reads the store, and notices work again once it is back', async (t) => {
    const listener = listenerOf(b);
    const reconnects = listener.reconnects;
    const during = await newKey('revoked-while-reconnecting');
    const survivor = await newKey('survivor');
    const after = await newKey('revoked-after-reconnection');
    await cacheOnB(during.secret);
    await cacheOnB(survivor.secret);
    // Several pool connections of B stay open while new connections are refused (pool clients idle for 10 s).
    await Promise.all(Array.from({ length: 4 }, () => callB(survivor.secret)));

    // Kill B's listening connection and keep it from reconnecting for a while.
    const pid = listener.backendPid;
    assert.ok(pid !== undefined);
    await allowConnections(false);
    try {
      assert.equal((await admin.query('SELECT pg_terminate_backend($1) AS done', [pid])).rows[0].done, true);
      await until('B notices the lost connection', () => !listener.listening, NOTICE_BOUND_MS);
      assert.equal(isCachedIn(b, survivor.secret), false, 'the cache serves nothing while nobody listens');

      // Revoked by another connection while B cannot listen: the very next request to B is refused.
      await observer.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2', [new Date().toISOString(), during.id]);
      assert.equal(await callB(during.secret), 401);
      assert.equal(await callB(survivor.secret), 200);
      assert.equal(listener.listening, false, 'the revocation happened while B was reconnecting');
    } finally {
      await allowConnections(true);
    }

    await until('B listens again', () => listener.listening, 15_000);
    assert.equal(listener.reconnects, reconnects + 1);
    assert.notEqual(listener.backendPid, pid);
    await cacheOnB(after.secret);
    assert.equal((await a.call('DELETE', `/api-keys/${after.id}`)).status, 200);
    const elapsed = await until('B refuses the key revoked after reconnection', async () => (await callB(after.secret)) === 401, NOTICE_BOUND_MS);
    assert.ok(elapsed < API_KEY_CACHE_MS / 2, `refused after ${elapsed} ms`);
    t.diagnostic(`after reconnecting, B refused a key ${elapsed} ms after A answered its revocation`);
    assert.equal(await callB(survivor.secret), 200);
    assert.equal(await callB(during.secret), 401);
  });

  test('closing a store while its listener waits to reconnect does not wait for the database', async () => {
    const store = await openStore({ dataDir: database.dataDir, databaseUrl: database.databaseUrl as string, migrate: false });
    const listener = credentialListenerOf(store.db) as CredentialListener;
    await until('the listener is live', () => listener.listening, 10_000);
    await allowConnections(false);
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [listener.backendPid]);
      await until('the listener notices the lost connection', () => !listener.listening, NOTICE_BOUND_MS);
      const started = Date.now();
      await store.close();
      assert.ok(Date.now() - started < 1_000, `closed in ${Date.now() - started} ms`);
    } finally {
      await allowConnections(true);
    }
  });
});

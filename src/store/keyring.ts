/**
 * Persistence of the keyring: data-key versions wrapped by the master key in the `keyring` table. Loading unwraps
 * every active version with the master key whose check value matches; a version wrapped by a previous master key
 * (listed after the current one) is re-wrapped under the current one, which is how the master key itself rotates.
 * The keyring is global to the installation (not tenant data): one key protects every organization's rows, the AAD
 * keeps them apart.
 */
import { sql, type Kysely } from 'kysely';
import { PlugboardError } from '../core/errors.ts';
import { Keyring, newDataKey, unwrapDataKey, wrapDataKey, type DataKey, type MasterKey } from '../crypto/keyring.ts';
import type { Database } from './schema.ts';

/** Arbitrary constant naming the keyring initialisation lock among other advisory locks of the same database. */
const KEYRING_LOCK_ID = 716_204_003;

export interface KeyVersionInfo {
  version: number;
  status: 'active' | 'retired';
  createdAt: string;
  activatesAt: string;
  retiredAt: string | null;
  rowsRemaining: number | null;
}

export async function keyringIsEmpty(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('keyring').select('version').limit(1).executeTakeFirst();
  return row === undefined;
}

/** Reads, checks and unwraps every active version; re-wraps versions wrapped by a previous master key. */
export async function loadDataKeys(db: Kysely<Database>, masters: readonly MasterKey[]): Promise<DataKey[]> {
  const current = masters[0];
  const rows = await db.selectFrom('keyring').selectAll().where('status', '=', 'active').orderBy('version').execute();
  const keys: DataKey[] = [];
  for (const row of rows) {
    const master = masters.find((m) => m.check === row.master_check);
    if (master === undefined) {
      throw new PlugboardError(
        'MASTER_KEY_MISMATCH',
        `The configured master key does not match this store: key version ${row.version} was wrapped by a master key with check value ${row.master_check}, and the configured key(s) have ${masters.map((m) => m.check).join(', ')}. Configure the master key this store was created with (PLUGBOARD_MASTER_KEY or data/master.key); to replace it, list the new key first and the old one after it for one start.`,
      );
    }
    const key = unwrapDataKey(master, row.version, row.wrapped_key);
    if (master !== current) {
      await db.updateTable('keyring').set({ wrapped_key: wrapDataKey(current, row.version, key), master_check: current.check }).where('version', '=', row.version).execute();
    }
    keys.push({ version: row.version, key, activatesAt: Date.parse(row.activates_at) });
  }
  return keys;
}

/** Adds a data-key version that seals new secrets from `now + activationDelayMs`; returns its number. */
export async function addKeyVersion(db: Kysely<Database>, master: MasterKey, activationDelayMs: number, now = Date.now()): Promise<KeyVersionInfo> {
  const inTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> => (db.isTransaction ? fn(db) : db.transaction().execute(fn));
  return inTransaction(async (trx) => {
    const last = await trx.selectFrom('keyring').select((eb) => eb.fn.max('version').as('max')).executeTakeFirst();
    const version = Number(last?.max ?? 0) + 1;
    const createdAt = new Date(now).toISOString();
    const activatesAt = new Date(now + activationDelayMs).toISOString();
    await trx
      .insertInto('keyring')
      .values({ version, wrapped_key: wrapDataKey(master, version, newDataKey()), master_check: master.check, status: 'active', created_at: createdAt, activates_at: activatesAt, retired_at: null })
      .execute();
    return { version, status: 'active' as const, createdAt, activatesAt, retiredAt: null, rowsRemaining: null };
  });
}

export async function listKeyVersions(db: Kysely<Database>): Promise<KeyVersionInfo[]> {
  const rows = await db.selectFrom('keyring').selectAll().orderBy('version').execute();
  return rows.map((r) => ({
    version: r.version,
    status: r.status === 'retired' ? 'retired' : 'active',
    createdAt: r.created_at,
    activatesAt: r.activates_at,
    retiredAt: r.retired_at,
    rowsRemaining: r.rows_remaining,
  }));
}

export async function recordRowsRemaining(db: Kysely<Database>, version: number, rows: number): Promise<void> {
  await db.updateTable('keyring').set({ rows_remaining: rows }).where('version', '=', version).execute();
}

/** Retires a version: its key material is erased, so it must no longer seal any row (the caller has checked). */
export async function retireKeyVersion(db: Kysely<Database>, version: number, now = new Date()): Promise<void> {
  await db
    .updateTable('keyring')
    .set({ status: 'retired', wrapped_key: '', retired_at: now.toISOString(), rows_remaining: 0 })
    .where('version', '=', version)
    .where('status', '=', 'active')
    .execute();
}

/** Loads the store's data keys into `keyring`, creating version 1 on an empty store. */
export async function initKeyring(db: Kysely<Database>, masters: readonly MasterKey[], keyring: Keyring, dialect: 'sqlite' | 'postgres' = 'sqlite'): Promise<{ created: boolean }> {
  let created = false;
  if (await keyringIsEmpty(db)) {
    // Processes starting together on one empty database: the lock and the second check inside the transaction make
    // exactly one of them create version 1 (SQLite serialises write transactions by itself).
    created = await db.transaction().execute(async (trx) => {
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${KEYRING_LOCK_ID})`.execute(trx);
      if (!(await keyringIsEmpty(trx))) return false;
      await addKeyVersion(trx, masters[0], 0);
      return true;
    });
  }
  keyring.replace(await loadDataKeys(db, masters));
  return { created };
}

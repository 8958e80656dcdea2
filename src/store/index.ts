/**
 * `openStore()`: the one entry point to persistence. Embedded mode (no DATABASE_URL) opens `<dataDir>/plugboard.db`
 * through node:sqlite; otherwise a PostgreSQL pool. Both sit behind the same `Kysely<Database>` and the same
 * migrations, which are applied here before the store is returned, so a store in hand is always up to date.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.ts';
import { NodeSqliteDatabase, registerChangeStamp } from './sqlite/database.ts';
import { createPool } from './postgres/pool.ts';
import { listenForCredentialWrites, type CredentialListener, type ListenerLog } from './postgres/notify.ts';
import { migrateToLatest, pendingMigrationNames } from './migrate.ts';

export type Dialect = 'sqlite' | 'postgres';
export type { Database } from './schema.ts';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Migration files on disk not applied to this database (empty when ready). */
  pendingMigrations(): Promise<string[]>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** PostgreSQL URL; when absent the embedded SQLite file in `dataDir` is used. */
  databaseUrl?: string;
  dataDir: string;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL: where the credential listener reports losing and regaining its connection. */
  log?: ListenerLog;
}

export const SQLITE_FILE = 'plugboard.db';

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  let listener: CredentialListener | undefined;
  if (options.databaseUrl === undefined) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(options.dataDir, SQLITE_FILE);
    dialect = 'sqlite';
    const database = new NodeSqliteDatabase(file);
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    registerChangeStamp(db, database);
  } else {
    dialect = 'postgres';
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPool(options.databaseUrl, options.poolSize) }) });
    // One connection outside the pool LISTENs for credential writes by any process (docs/security.md).
    listener = listenForCredentialWrites(db, options.databaseUrl, options.log);
  }
  let closed = false;
  const store: Store = {
    db,
    dialect,
    async ping() {
      await sql`select 1`.execute(db);
    },
    pendingMigrations: () => pendingMigrationNames(db),
    async close() {
      if (closed) return;
      closed = true;
      await listener?.close();
      await db.destroy();
    },
  };
  if (options.migrate !== false) {
    try {
      await migrateToLatest(db, dialect);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

/**
 * The forward-only migration runner. Migrations are the files `migrations/NNNN_name.ts`, each exporting
 * `up(db, dialect)`; they are discovered by file name, sorted, and each applied once inside its own transaction and
 * recorded in `plugboard_migrations`. On PostgreSQL an advisory lock serialises several processes starting at once;
 * on SQLite the write transaction does the same.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from './index.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.ts$/;
/** Arbitrary constant naming Plugboard's migration lock among other advisory locks of the same database. */
const ADVISORY_LOCK_ID = 716_204_001;

export interface Migration {
  name: string;
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

/** Lists migration names found on disk, sorted (without the `.ts` extension). */
export async function discoverMigrationNames(dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = await readdir(dir);
  return files.filter((f) => MIGRATION_FILE.test(f)).sort().map((f) => f.slice(0, -3));
}

async function loadMigrations(dir: string): Promise<Migration[]> {
  const names = await discoverMigrationNames(dir);
  const seen = new Map<string, string>();
  const migrations: Migration[] = [];
  for (const name of names) {
    const number = name.slice(0, 4);
    const clash = seen.get(number);
    if (clash !== undefined) throw new Error(`Migrations ${clash} and ${name} share the number ${number}; renumber one of them`);
    seen.set(number, name);
    const mod = (await import(pathToFileURL(path.join(dir, `${name}.ts`)).href)) as Partial<Migration>;
    if (typeof mod.up !== 'function') throw new Error(`Migration ${name} does not export an up(db, dialect) function`);
    migrations.push({ name, up: mod.up });
  }
  return migrations;
}

async function ensureTable(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('plugboard_migrations')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .execute();
}

export async function appliedMigrationNames(db: Kysely<any>): Promise<string[]> {
  const rows = await db.selectFrom('plugboard_migrations').select('name').orderBy('name').execute();
  return rows.map((r) => r.name as string);
}

async function applyPending(db: Kysely<any>, dialect: Dialect, migrations: Migration[]): Promise<string[]> {
  const applied = new Set(await appliedMigrationNames(db));
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    try {
      await db.transaction().execute(async (trx) => {
        await migration.up(trx, dialect);
        await trx.insertInto('plugboard_migrations').values({ name: migration.name, applied_at: new Date().toISOString() }).execute();
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Migration ${migration.name} failed on ${dialect} and was rolled back: ${reason}`, { cause: error });
    }
    done.push(migration.name);
  }
  return done;
}

/** Applies every pending migration; returns the names applied by this call. */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  if (dialect === 'sqlite') {
    await ensureTable(db);
    return applyPending(db, dialect, migrations);
  }
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${ADVISORY_LOCK_ID})`.execute(conn);
    try {
      await ensureTable(conn);
      return await applyPending(conn, dialect, migrations);
    } finally {
      await sql`select pg_advisory_unlock(${ADVISORY_LOCK_ID})`.execute(conn);
    }
  });
}

/** Names on disk that are not applied yet (empty when the store is up to date). */
export async function pendingMigrationNames(db: Kysely<any>, dir = MIGRATIONS_DIR): Promise<string[]> {
  const applied = new Set(await appliedMigrationNames(db));
  return (await discoverMigrationNames(dir)).filter((n) => !applied.has(n));
}

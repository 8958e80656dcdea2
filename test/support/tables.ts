/**
 * Raw views of a test store for the security suites: every table, every row, and the rows that belong to one
 * organization (tables with an `org_id` column), without knowing which areas created which tables.
 */
import { sql, type Kysely } from 'kysely';
import type { Store } from '../../src/store/index.ts';

export async function listTables(store: Store): Promise<string[]> {
  const db = store.db as unknown as Kysely<any>;
  if (store.dialect === 'sqlite') {
    const rows = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db);
    return rows.rows.map((r) => r.name);
  }
  const rows = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db);
  return rows.rows.map((r) => r.name);
}

export async function allRows(store: Store, table: string): Promise<Array<Record<string, unknown>>> {
  const db = store.db as unknown as Kysely<any>;
  return db.selectFrom(table).selectAll().execute();
}

/** Every row of every table with an org_id column that belongs to `orgId`, keyed by table. */
export async function rowsOfOrganization(store: Store, orgId: string): Promise<Record<string, Array<Record<string, unknown>>>> {
  const out: Record<string, Array<Record<string, unknown>>> = {};
  for (const table of await listTables(store)) {
    const rows = await allRows(store, table);
    if (rows.length === 0 || !('org_id' in rows[0])) {
      if (table === 'organizations') out[table] = rows.filter((r) => r.id === orgId);
      continue;
    }
    out[table] = rows.filter((r) => r.org_id === orgId);
  }
  return out;
}

/** Everything in the database as one string, to search for a value that must not be stored in clear. */
export async function dumpDatabase(store: Store): Promise<string> {
  const parts: string[] = [];
  for (const table of await listTables(store)) parts.push(`${table}:${JSON.stringify(await allRows(store, table))}`);
  return parts.join('\n');
}

/**
 * The bulk statements of a GDPR erasure, written once per dialect and statement shape instead of being built by Kysely
 * per batch: an erasure runs them for every 500 connections, with hundreds of parameters each, and building those
 * queries was a visible share of its cost. Each function runs one statement on the executor it is given (the
 * erasure's transaction); tenancy is kept by the `org_id` condition of every statement.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Dialect } from './index.ts';
import type { Database } from './schema.ts';
import type { RevocationGrantBatchTable, RevocationTable } from './revocations.ts';

type Db = Kysely<Database>;

/** SQLite statement texts by shape (the number of rows), so a batch of the usual size reuses its prepared statement. */
const texts = new Map<string, string>();

function cachedText(key: string, build: () => string): string {
  let text = texts.get(key);
  if (text === undefined) {
    text = build();
    // Shapes are bounded by the batch size, but keep the cache bounded whatever the callers do.
    if (texts.size > 256) texts.clear();
    texts.set(key, text);
  }
  return text;
}

/** `count` copies of `item` joined by commas: the parameter lists (`?, ?, ...`) of the SQLite statements. */
export function repeated(item: string, count: number): string {
  return Array.from({ length: count }, () => item).join(', ');
}

/**
 * Deletes the connections among `rows` that are still exactly as they were read (same `updated_at`) and not leased
 * by a refresh in flight, in one statement, and returns the ids really deleted. A row changed or leased since it was
 * read is left for a later pass. On PostgreSQL the DELETE takes the row locks itself and re-checks its condition on
 * the latest version of a row a concurrent writer just changed, so no separate locking read is needed.
 */
export async function deleteUnchangedConnections(db: Db, dialect: Dialect, orgId: string, rows: readonly { id: string; updatedAt: string }[], now: string): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const leaseFree = 'AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until < $2)';
  let query: CompiledQuery;
  if (dialect === 'postgres') {
    // Two arrays instead of two parameters per row; a primary-key lookup per pair.
    const text = `DELETE FROM connections c USING unnest($3::text[], $4::text[]) AS v(id, updated_at) WHERE c.org_id = $1 ${leaseFree} AND c.id = v.id AND c.updated_at = v.updated_at RETURNING c.id`;
    query = CompiledQuery.raw(text, [orgId, now, rows.map((r) => r.id), rows.map((r) => r.updatedAt)]);
  } else {
    // `+org_id` keeps SQLite's planner on the primary key (the pairs) rather than an (org_id, ...) index scan.
    const text = cachedText(`delete:${rows.length}`, () => `DELETE FROM connections WHERE +org_id = ? ${leaseFree.replace('$2', '?')} AND (id, updated_at) IN (VALUES ${repeated('(?, ?)', rows.length)}) RETURNING id`);
    const parameters: unknown[] = [orgId, now];
    for (const row of rows) parameters.push(row.id, row.updatedAt);
    query = CompiledQuery.raw(text, parameters);
  }
  const result = await db.executeQuery<{ id: string }>(query);
  const gone = new Set<string>();
  for (const row of result.rows) gone.add(row.id);
  return gone;
}

/** Deletes what else is kept about the erased connections: tags, events and flow execution history (cards go by foreign key). */
export async function deleteConnectionTraces(db: Db, dialect: Dialect, orgId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  for (const [table, column] of [['connection_tags', 'connection_id'], ['events', 'instance_id'], ['executions', 'connection_id']] as const) {
    if (dialect === 'postgres') {
      await db.executeQuery(CompiledQuery.raw(`DELETE FROM ${table} WHERE org_id = $1 AND ${column} = ANY($2::text[])`, [orgId, [...ids]]));
      continue;
    }
    const text = cachedText(`traces:${table}:${ids.length}`, () => `DELETE FROM ${table} WHERE org_id = ? AND ${column} IN (${repeated('?', ids.length)})`);
    await db.executeQuery(CompiledQuery.raw(text, [orgId, ...ids]));
  }
}

const REVOCATION_COLUMNS = [
  'id', 'org_id', 'instance_id', 'erasure_id', 'element_key', 'reason', 'status', 'revoked', 'verified', 'method', 'provider_status',
  'provider_body', 'message_text', 'unregister_url', 'attempts', 'last_error', 'sealed_grant', 'grant_batch_id', 'created_at', 'updated_at',
  'completed_at',
] as const satisfies ReadonlyArray<keyof RevocationTable>;

const INTEGER_COLUMNS: ReadonlySet<string> = new Set(['revoked', 'verified', 'provider_status', 'attempts']);

/** Rows per SQLite INSERT: 500 rows of 20 columns stay well under its parameter limit. */
const INSERT_CHUNK = 500;

/** Inserts revocation rows: on PostgreSQL one statement of one array per column, on SQLite up to 500 rows per statement. */
export async function insertRevocationRows(db: Db, dialect: Dialect, rows: readonly RevocationTable[]): Promise<void> {
  if (rows.length === 0) return;
  if (dialect === 'postgres') {
    const arrays = REVOCATION_COLUMNS.map((column) => rows.map((row) => row[column]));
    const text = cachedText('insert-revocations:postgres', () => {
      const columns = REVOCATION_COLUMNS.map((column, i) => `$${i + 1}::${INTEGER_COLUMNS.has(column) ? 'integer' : 'text'}[]`);
      return `INSERT INTO revocations (${REVOCATION_COLUMNS.join(', ')}) SELECT * FROM unnest(${columns.join(', ')})`;
    });
    await db.executeQuery(CompiledQuery.raw(text, arrays));
    return;
  }
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const chunk = rows.slice(start, start + INSERT_CHUNK);
    const text = cachedText(`insert-revocations:${chunk.length}`, () => `INSERT INTO revocations (${REVOCATION_COLUMNS.join(', ')}) VALUES ${repeated(`(${repeated('?', REVOCATION_COLUMNS.length)})`, chunk.length)}`);
    const parameters: unknown[] = [];
    for (const row of chunk) for (const column of REVOCATION_COLUMNS) parameters.push(row[column]);
    await db.executeQuery(CompiledQuery.raw(text, parameters));
  }
}

/** Stores the sealed grants of one erasure batch (in the transaction that inserts the revocations naming it). */
export async function insertGrantBatch(db: Db, row: RevocationGrantBatchTable): Promise<void> {
  await db.insertInto('revocation_grant_batches').values(row).execute();
}

/** The sealed grant envelopes among `ids` of one organization. */
export async function grantBatchesById(db: Db, orgId: string, ids: readonly string[]): Promise<RevocationGrantBatchTable[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('revocation_grant_batches').selectAll().where('org_id', '=', orgId).where('id', 'in', [...ids]).execute();
}

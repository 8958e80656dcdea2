/**
 * Migration 0010: revocation indexes that match how revocations are read.
 * - `revocations_erasure_idx` was `(erasure_id, status)`: paging an erasure request's rows by id (the receipt, and the
 *   pass that hands pending rows to batch jobs) had to read and sort every row of the request for each page, so a
 *   100,000-connection request took seconds per pass. It becomes `(erasure_id, id)`: each page is a range scan, and
 *   ending a revocation (its status changing) no longer moves its index entry.
 * - `revocations_pending_idx` on `(id)`, only for pending rows: the recovery sweep that runs every few minutes reads
 *   pending revocations, which no longer means reading the whole table; the entry goes when the revocation ends.
 * - `revocations_org_instance_idx` goes: no query reads revocations by connection, and it was the one random-order
 *   insert left in writing an erasure's pending revocations.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema.dropIndex('revocations_org_instance_idx').ifExists().execute();
  await db.schema.dropIndex('revocations_erasure_idx').ifExists().execute();
  await db.schema.createIndex('revocations_erasure_idx').on('revocations').columns(['erasure_id', 'id']).execute();
  await db.schema.createIndex('revocations_pending_idx').on('revocations').column('id').where(sql.ref('status'), '=', sql.lit('pending')).execute();
}

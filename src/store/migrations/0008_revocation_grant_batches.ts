/**
 * Migration 0008: the grants of an erasure batch sealed together. An erasure used to seal each connection's grant into
 * its own `revocations.sealed_grant` envelope and open it again for the provider call: two vault operations per
 * connection. Now the batch that erases up to 500 connections seals their grants in one `revocation_grant_batches`
 * envelope (bound to that row), and each pending revocation names it in `grant_batch_id`. The column is cleared when
 * the revocation ends or moves to its own envelope (a retry after a transient failure), and the envelope row is
 * deleted in the same transaction as the last revocation that still names it: the grants exist only while a provider
 * call for them is pending, as before.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('revocation_grant_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('erasure_id', 'text', (c) => c.notNull())
    /** JSON `{ revocationId: grant }`, sealed by the vault. */
    .addColumn('sealed_grants', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('revocations').addColumn('grant_batch_id', 'text').execute();
  // Only pending rows whose grant is in a batch envelope carry the column: a small partial index.
  await db.schema.createIndex('revocations_grant_batch_idx').on('revocations').column('grant_batch_id').where(sql.ref('grant_batch_id'), 'is not', null).execute();
}

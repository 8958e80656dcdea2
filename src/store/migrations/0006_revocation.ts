/**
 * Migration 0006: revocations and erasure requests. A `revocations` row is the durable record of one provider-side
 * revocation (on delete, on a test revoke, or as one item of an erasure request) and, for erasures, the receipt line.
 * While the provider call is pending it holds the grant it must revoke (tokens, client, configuration) sealed by the
 * vault in `sealed_grant`; the column is cleared as soon as the revocation ends, whatever the outcome. `erasure_requests`
 * keeps no personal data beyond the external id, stored hashed when configured.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('erasure_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    /** externalUserId | instanceIds | tag */
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    /** The external id or the tag; null for a list of instance ids, and cleared after collection when hashing is on. */
    .addColumn('subject', 'text')
    /** SHA-256 of the external id (salted with the organization id), when hashing is configured. */
    .addColumn('subject_hash', 'text')
    /** JSON array of instance ids, for subject_kind instanceIds. */
    .addColumn('instance_ids', 'text')
    /** pending | running | completed | completed_with_manual_steps */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    /** Items whose revocation has not ended yet; reaching 0 after enumeration completes the request. */
    .addColumn('remaining', 'integer', (c) => c.notNull())
    /** 1 once every matching connection has been collected (and its local data erased). */
    .addColumn('enumerated', 'integer', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema.createIndex('erasure_requests_org_created_idx').on('erasure_requests').columns(['org_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('revocations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('erasure_id', 'text')
    .addColumn('element_key', 'text', (c) => c.notNull())
    /** delete | test | erasure */
    .addColumn('reason', 'text', (c) => c.notNull())
    /** pending | revoked | failed | manual */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('revoked', 'integer', (c) => c.notNull())
    .addColumn('verified', 'integer', (c) => c.notNull())
    /** flow | rfc7009 | manual */
    .addColumn('method', 'text')
    .addColumn('provider_status', 'integer')
    /** JSON of the provider's answer, secrets redacted. */
    .addColumn('provider_body', 'text')
    .addColumn('message_text', 'text')
    .addColumn('unregister_url', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    /** The grant to revoke, sealed; null once the revocation ended. */
    .addColumn('sealed_grant', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema.createIndex('revocations_erasure_idx').on('revocations').columns(['erasure_id', 'status']).execute();
  await db.schema.createIndex('revocations_org_instance_idx').on('revocations').columns(['org_id', 'instance_id']).execute();
}

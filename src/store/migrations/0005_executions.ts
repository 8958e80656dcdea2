/**
 * Migration 0005: flow execution history. `executions` holds one row per flow run (tenant-scoped, with the connection
 * it ran for when there was one); `execution_cards` holds each card's inputs, outputs, timing and error for flows that
 * save their data. Values arrive already redacted by the flow engine. No foreign key to connections: the history of a
 * revocation must outlive the connection it revoked. Retention is bounded by age and count (see
 * `src/store/executions.ts`), so both tables are indexed for the newest-first listing and for pruning.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('executions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('connection_id', 'text')
    .addColumn('connector_key', 'text', (c) => c.notNull())
    .addColumn('flow', 'text', (c) => c.notNull())
    .addColumn('flow_kind', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'real', (c) => c.notNull())
    .addColumn('cards_executed', 'integer', (c) => c.notNull())
    .addColumn('save_data', 'integer', (c) => c.notNull())
    .addColumn('inputs', 'text')
    .addColumn('outputs', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error', 'text')
    .addColumn('context', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('executions_org_started_idx').on('executions').columns(['org_id', 'started_at', 'id']).execute();
  await db.schema.createIndex('executions_org_connection_idx').on('executions').columns(['org_id', 'connection_id', 'started_at']).execute();

  await db.schema
    .createTable('execution_cards')
    .addColumn('execution_id', 'text', (c) => c.notNull().references('executions.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('flow', 'text', (c) => c.notNull())
    .addColumn('card', 'text', (c) => c.notNull())
    .addColumn('card_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'real', (c) => c.notNull())
    .addColumn('inputs', 'text')
    .addColumn('outputs', 'text')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('execution_cards_pk', ['execution_id', 'seq'])
    .execute();
}

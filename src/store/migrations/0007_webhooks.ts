/**
 * Migration 0007: organization webhooks, their delivery log and the outbox cursor. The events table (0004) is the
 * outbox: a dispatcher reads events after `webhook_cursor`, writes one `webhook_deliveries` row per matching webhook
 * (unique per webhook and event, so two processes scanning the same events deliver once) and hands each row to the
 * job queue. The signing secret is a vault envelope sealed to its webhook row; it is shown once at creation.
 * `connection_health` holds what the proxy and the health checker know about each connection's use: when it was last
 * called, last checked, and why it was disabled (the reason the checker gives after repeated refresh failures).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_org_created_idx').on('webhooks').columns(['org_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('last_attempt_at', 'text')
    .addColumn('next_attempt_at', 'text')
    .addColumn('delivered_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('webhook_deliveries_webhook_event_unique', ['webhook_id', 'event_id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_webhook_idx').on('webhook_deliveries').columns(['org_id', 'webhook_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('webhook_cursor')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('connection_health')
    .addColumn('connection_id', 'text', (c) => c.primaryKey().references('connections.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('last_used_at', 'text')
    .addColumn('last_checked_at', 'text')
    .addColumn('last_check_ok', 'integer')
    .addColumn('last_check_message', 'text')
    .addColumn('disabled_reason', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('connection_health_org_idx').on('connection_health').columns(['org_id', 'last_used_at']).execute();
}

/**
 * Connections (instances), their tags, one-time OAuth states and the events table. Every secret column holds a vault
 * envelope sealed to its organization, row and field; the instance token is stored only as a lookup prefix plus a
 * SHA-256 hash; the OAuth state is stored hashed too, so a database reader can neither call the API as an instance
 * nor finish someone else's authorization. Lease columns serialise token refreshes of one connection across
 * processes on SQLite (PostgreSQL uses an advisory lock as well).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('element_key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('external_user_id', 'text')
    .addColumn('configuration', 'text', (c) => c.notNull())
    .addColumn('base_url', 'text')
    .addColumn('auth_type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('valid', 'integer', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull())
    .addColumn('revoked', 'integer', (c) => c.notNull())
    .addColumn('token_lookup', 'text', (c) => c.notNull().unique())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('access_token', 'text')
    .addColumn('refresh_token', 'text')
    .addColumn('token_type', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('scope', 'text')
    .addColumn('username', 'text')
    .addColumn('password', 'text')
    .addColumn('api_key', 'text')
    .addColumn('client_id', 'text')
    .addColumn('client_secret', 'text')
    .addColumn('refresh_failures', 'integer', (c) => c.notNull())
    .addColumn('last_refreshed_at', 'text')
    .addColumn('last_authenticated_at', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('connections_org_created_idx').on('connections').columns(['org_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('connections_org_element_idx').on('connections').columns(['org_id', 'element_key']).execute();
  await db.schema.createIndex('connections_org_external_user_idx').on('connections').columns(['org_id', 'external_user_id']).execute();
  await db.schema.createIndex('connections_org_status_idx').on('connections').columns(['org_id', 'status']).execute();

  await db.schema
    .createTable('connection_tags')
    .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('connection_tags_pk', ['connection_id', 'tag'])
    .execute();
  await db.schema.createIndex('connection_tags_org_tag_idx').on('connection_tags').columns(['org_id', 'tag']).execute();

  await db.schema
    .createTable('oauth_states')
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('element_key', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text')
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('return_url', 'text')
    .addColumn('client_state', 'text')
    .addColumn('instance_id', 'text')
    .addColumn('pending', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text')
    .addColumn('client_secret', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  await db.schema.createIndex('oauth_states_expires_idx').on('oauth_states').columns(['expires_at']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('instance_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_org_time_idx').on('events').columns(['org_id', 'occurred_at', 'id']).execute();
  await db.schema.createIndex('events_org_instance_idx').on('events').columns(['org_id', 'instance_id', 'occurred_at']).execute();
}

/**
 * Private connectors and OAuth apps. `private_connectors` keeps every deployed version of an organization's own
 * connector definitions (forward-only: a deploy adds a version, the highest one is live); `connector_oauth_apps`
 * holds one OAuth app (client id and vault-sealed client secret) per organization per connector, built-in or private.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>, _dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('private_connectors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_format', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('private_connectors_org_key_version_uq', ['org_id', 'key', 'version'])
    .execute();

  await db.schema
    .createTable('connector_oauth_apps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('connector_key', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('connector_oauth_apps_org_key_uq', ['org_id', 'connector_key'])
    .execute();
}

/**
 * Migration 0002: the `jobs` table of the embedded job runner. SQLite only: on PostgreSQL pg-boss keeps jobs in its
 * own schema, installed by pg-boss itself when the runner starts. Completed jobs are deleted, so the table holds only
 * queued, running and failed jobs and stays small however many jobs pass through it.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'sqlite') return;
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('group_key', 'text')
    .addColumn('singleton_key', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // The claim query: runnable jobs of one name in run_at order.
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['name', 'state', 'run_at']).execute();
  // Finding expired leases of crashed runners.
  await db.schema.createIndex('jobs_lease').on('jobs').columns(['name', 'state', 'lease_until']).execute();
  // A singleton key is taken only while its job is unfinished; a failed job keeps its row but frees the key.
  await db.schema
    .createIndex('jobs_singleton')
    .on('jobs')
    .columns(['name', 'singleton_key'])
    .unique()
    .where(sql<boolean>`singleton_key is not null and state in ('queued', 'active')`)
    .execute();
}

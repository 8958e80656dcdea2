/**
 * Migration 0009: credential notices on PostgreSQL. Every write that can change what an authentication cache holds
 * sends `pg_notify('plugboard_credentials', '<kind>:<id>')` from a trigger, so in the transaction of the write itself:
 * the notice is delivered to the listening processes only if that transaction commits, whichever code (or operator)
 * made the write. Covered: an API key's revocation, permissions, secret, lookup or owner changing, or the key being
 * deleted; a user's secret, role or organization changing, or the user being deleted; an organization's secret
 * changing or the organization being deleted (its users and keys go with it by cascade, and their own triggers fire
 * too). Recording a key's use (`last_used_at`) sends nothing. A TRUNCATE of any of the three tables sends `all`.
 * Payloads carry ids only, never a secret or a hash. `src/store/postgres/notify.ts` listens; SQLite needs none of this
 * (its caches check the database's change stamp).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`
    CREATE FUNCTION plugboard_credential_notice() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('plugboard_credentials', 'all');
      ELSE
        PERFORM pg_notify('plugboard_credentials', TG_ARGV[0] || ':' || OLD.id);
      END IF;
      RETURN NULL;
    END
    $$`.execute(db);
  const watched: Array<{ table: string; kind: string; columns: string }> = [
    { table: 'api_keys', kind: 'api_key', columns: 'revoked_at, permissions, secret_hash, lookup, org_id, user_id, id' },
    { table: 'users', kind: 'user', columns: 'secret_hash, secret_lookup, role, org_id, id' },
    { table: 'organizations', kind: 'organization', columns: 'secret_hash, secret_lookup, id' },
  ];
  for (const { table, kind, columns } of watched) {
    await sql.raw(`CREATE TRIGGER ${table}_credential_notice AFTER UPDATE OF ${columns} OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION plugboard_credential_notice('${kind}')`).execute(db);
    await sql.raw(`CREATE TRIGGER ${table}_credential_truncate AFTER TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION plugboard_credential_notice('${kind}')`).execute(db);
  }
}

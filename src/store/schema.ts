/**
 * The Kysely type of the whole Plugboard database. Each area defines its table interfaces in its own file and adds
 * one member line per table to `Database` below (e.g. `connections: ConnectionTable;`). Column conventions (see
 * docs/architecture.md): text ids, ISO-8601 UTC text timestamps, JSON as text, booleans as integer 0/1, sealed
 * secrets as text envelopes from the vault.
 */
import type { Generated } from 'kysely';
import type { ConnectionsTables } from './connections.ts';
import type { EventsTables } from './events.ts';
import type { OAuthStatesTables } from './oauthStates.ts';
import type { JobsDatabase } from './jobs.ts';
import type { ConnectorsTables } from './connectors.ts';
import type { RevocationTables } from './revocations.ts';
import type { ExecutionsTables } from './executions.ts';

export interface MigrationTable {
  name: string;
  applied_at: string;
}

export interface OrganizationTable {
  id: string;
  name: string;
  /** Public half of the `Organization <secret>` credential, used to find the row before the constant-time check. */
  secret_lookup: string;
  /** SHA-256 of the organization secret (hex); the secret itself is shown once and never stored. */
  secret_hash: string;
  created_at: string;
}

export interface UserTable {
  id: string;
  org_id: string;
  email: string;
  name: string;
  /** `admin` has every permission of its organization; `member` reads and writes connections. */
  role: string;
  secret_lookup: string;
  secret_hash: string;
  created_at: string;
}

export interface ApiKeyTable {
  id: string;
  org_id: string;
  user_id: string;
  name: string;
  /** Public prefix shown in listings and used for lookup (`pb_<lookup>_<secret>`). */
  lookup: string;
  secret_hash: string;
  /** JSON array of permission strings. */
  permissions: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface KeyringTable {
  /** Data-key version, written into every sealed envelope. */
  version: number;
  /** The data key sealed with the master key (AES-256-GCM), base64url. Empty once the version is retired. */
  wrapped_key: string;
  /** Key check value of the master key that wrapped it: tells a wrong master key from a corrupt row. */
  master_check: string;
  /** `active` or `retired`. */
  status: string;
  created_at: string;
  /** Sealing with this version starts at this instant, after every process has loaded it. */
  activates_at: string;
  retired_at: string | null;
  /** Rows still sealed with this version, as last counted by the re-encryption task (null: not counted yet). */
  rows_remaining: Generated<number | null>;
}

export interface Database extends ConnectionsTables, EventsTables, OAuthStatesTables, JobsDatabase, RevocationTables, ConnectorsTables, ExecutionsTables {
  plugboard_migrations: MigrationTable;
  organizations: OrganizationTable;
  users: UserTable;
  api_keys: ApiKeyTable;
  keyring: KeyringTable;
}

/**
 * Organizations (tenants) and their users. Creating an organization creates its first admin user and returns the
 * organization and user secrets once (for `Authorization: User <userSecret>, Organization <orgSecret>`); only their
 * SHA-256 hashes are stored. Every user read takes the organization id. The only cross-tenant reads are the
 * credential lookups used by authentication and `listAllOrganizations`, reserved to platform administrators.
 */
import type { Kysely } from 'kysely';
import { issueCredential } from '../crypto/secret-hash.ts';
import { newId } from '../crypto/random.ts';
import type { Role } from '../core/permissions.ts';
import type { Database, OrganizationTable, UserTable } from './schema.ts';

export interface Organization {
  id: string;
  name: string;
  createdAt: string;
}

export interface User {
  id: string;
  orgId: string;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
}

export interface CreatedOrganization {
  organization: Organization;
  user: User;
  /** Shown once; never stored. */
  organizationSecret: string;
  /** Shown once; never stored. */
  userSecret: string;
}

function toOrganization(row: OrganizationTable): Organization {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

function toUser(row: UserTable): User {
  return { id: row.id, orgId: row.org_id, email: row.email, name: row.name, role: row.role as Role, createdAt: row.created_at };
}

export async function createOrganization(
  db: Kysely<Database>,
  input: { name: string; adminEmail: string; adminName: string; adminRole?: Role },
): Promise<CreatedOrganization> {
  const now = new Date().toISOString();
  const orgSecret = issueCredential('pbo');
  const userSecret = issueCredential('pbu');
  const org: OrganizationTable = { id: newId(), name: input.name, secret_lookup: orgSecret.lookup, secret_hash: orgSecret.hash, created_at: now };
  const user: UserTable = {
    id: newId(), org_id: org.id, email: input.adminEmail, name: input.adminName, role: input.adminRole ?? 'admin',
    secret_lookup: userSecret.lookup, secret_hash: userSecret.hash, created_at: now,
  };
  const insert = async (trx: Kysely<Database>) => {
    await trx.insertInto('organizations').values(org).execute();
    await trx.insertInto('users').values(user).execute();
  };
  // Inside a caller's transaction (first-start bootstrap) the inserts join it; otherwise they get their own.
  if (db.isTransaction) await insert(db);
  else await db.transaction().execute(insert);
  return { organization: toOrganization(org), user: toUser(user), organizationSecret: orgSecret.value, userSecret: userSecret.value };
}

export async function getOrganization(db: Kysely<Database>, orgId: string): Promise<Organization | undefined> {
  const row = await db.selectFrom('organizations').selectAll().where('id', '=', orgId).executeTakeFirst();
  return row === undefined ? undefined : toOrganization(row);
}

/** Platform administration only: every organization, oldest first. */
export async function listAllOrganizations(db: Kysely<Database>): Promise<Organization[]> {
  const rows = await db.selectFrom('organizations').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map(toOrganization);
}

export async function countOrganizations(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function getUser(db: Kysely<Database>, orgId: string, userId: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('org_id', '=', orgId).where('id', '=', userId).executeTakeFirst();
  return row === undefined ? undefined : toUser(row);
}

export async function listUsers(db: Kysely<Database>, orgId: string): Promise<User[]> {
  const rows = await db.selectFrom('users').selectAll().where('org_id', '=', orgId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toUser);
}

/** Authentication only: the row behind an `Organization <secret>` credential, with its hash for the comparison. */
export async function findOrganizationCredential(db: Kysely<Database>, lookup: string): Promise<{ id: string; secretHash: string } | undefined> {
  const row = await db.selectFrom('organizations').select(['id', 'secret_hash']).where('secret_lookup', '=', lookup).executeTakeFirst();
  return row === undefined ? undefined : { id: row.id, secretHash: row.secret_hash };
}

/** Authentication only: the row behind a `User <secret>` credential. */
export async function findUserCredential(db: Kysely<Database>, lookup: string): Promise<{ id: string; orgId: string; role: string; secretHash: string } | undefined> {
  const row = await db.selectFrom('users').select(['id', 'org_id', 'role', 'secret_hash']).where('secret_lookup', '=', lookup).executeTakeFirst();
  return row === undefined ? undefined : { id: row.id, orgId: row.org_id, role: row.role, secretHash: row.secret_hash };
}

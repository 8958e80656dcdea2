/**
 * The connections (instances) repository. Every function takes the organization first and scopes its query to it;
 * the single exception is `findConnectionByTokenLookup`, which resolves an `Element <token>` credential to its
 * organization (the credential is what names the tenant, as an API key does). Secrets are sealed per field with the
 * vault binding `{ orgId, table: 'connections', rowId, field }`, so a ciphertext copied to another row, field or
 * organization fails to open. Tags live in their own table so filters and erasure by tag are indexed queries.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { decodeCursor, nextCursorOf } from './cursor.ts';
import { compiledOnce } from './compiled.ts';
import { PlugboardError } from '../core/errors.ts';
import { statusOf, type ConnectionState, type ConnectionStatus } from '../core/connection.ts';

export interface ConnectionTable {
  id: string;
  org_id: string;
  element_key: string;
  name: string;
  external_user_id: string | null;
  /** JSON object of non-secret configuration values. */
  configuration: string;
  base_url: string | null;
  auth_type: string;
  status: string;
  valid: number;
  disabled: number;
  revoked: number;
  token_lookup: string;
  token_hash: string;
  access_token: string | null;
  refresh_token: string | null;
  token_type: string | null;
  expires_at: string | null;
  scope: string | null;
  username: string | null;
  password: string | null;
  api_key: string | null;
  client_id: string | null;
  client_secret: string | null;
  refresh_failures: number;
  last_refreshed_at: string | null;
  last_authenticated_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface ConnectionTagTable {
  connection_id: string;
  org_id: string;
  tag: string;
}

export interface ConnectionsTables {
  connections: ConnectionTable;
  connection_tags: ConnectionTagTable;
}

export type ConnectionRow = ConnectionTable;

/** The vault as this repository needs it (structural, so tests can pass the real vault or any equivalent). */
export interface SecretSealer {
  seal(plaintext: string, binding: SealBinding): string;
  open(sealed: string, binding: SealBinding): string;
}
export interface SealBinding {
  orgId: string;
  table: string;
  rowId: string;
  field: string;
}

export const SECRET_FIELDS = ['access_token', 'refresh_token', 'username', 'password', 'api_key', 'client_secret'] as const;
export type SecretField = (typeof SECRET_FIELDS)[number];
export type ConnectionSecrets = Partial<Record<SecretField, string | null>>;

type Db = Kysely<Database>;

export function stateOf(row: Pick<ConnectionRow, 'valid' | 'disabled' | 'revoked'>): ConnectionState {
  return { valid: row.valid === 1, disabled: row.disabled === 1, revoked: row.revoked === 1 };
}

/** The columns a state change writes, status included, so the filter column never drifts from the flags. */
export function stateColumns(state: ConnectionState): Pick<ConnectionRow, 'valid' | 'disabled' | 'revoked' | 'status'> {
  return { valid: state.valid ? 1 : 0, disabled: state.disabled ? 1 : 0, revoked: state.revoked ? 1 : 0, status: statusOf(state) };
}

export function sealSecrets(vault: SecretSealer, orgId: string, rowId: string, secrets: ConnectionSecrets): Partial<ConnectionRow> {
  const out: Partial<Record<SecretField, string | null>> = {};
  for (const field of SECRET_FIELDS) {
    const value = secrets[field];
    if (value === undefined) continue;
    out[field] = value === null ? null : vault.seal(value, { orgId, table: 'connections', rowId, field });
  }
  return out;
}

export function openSecret(vault: SecretSealer, row: Pick<ConnectionRow, 'org_id' | 'id'> & Partial<Record<SecretField, string | null>>, field: SecretField): string | null {
  const sealed = row[field];
  if (sealed === null || sealed === undefined) return null;
  return vault.open(sealed, { orgId: row.org_id, table: 'connections', rowId: row.id, field });
}

export interface NewConnection {
  id: string;
  elementKey: string;
  name: string;
  externalUserId: string | null;
  configuration: Record<string, unknown>;
  baseUrl: string | null;
  authType: string;
  state: ConnectionState;
  tokenLookup: string;
  tokenHash: string;
  tokenType: string | null;
  expiresAt: string | null;
  scope: string | null;
  clientId: string | null;
  tags: string[];
  lastAuthenticatedAt: string | null;
  now: string;
}

export async function insertConnection(db: Db, vault: SecretSealer, orgId: string, input: NewConnection, secrets: ConnectionSecrets): Promise<ConnectionRow> {
  const row: ConnectionRow = {
    id: input.id,
    org_id: orgId,
    element_key: input.elementKey,
    name: input.name,
    external_user_id: input.externalUserId,
    configuration: JSON.stringify(input.configuration),
    base_url: input.baseUrl,
    auth_type: input.authType,
    ...stateColumns(input.state),
    token_lookup: input.tokenLookup,
    token_hash: input.tokenHash,
    access_token: null,
    refresh_token: null,
    token_type: input.tokenType,
    expires_at: input.expiresAt,
    scope: input.scope,
    username: null,
    password: null,
    api_key: null,
    client_id: input.clientId,
    client_secret: null,
    refresh_failures: 0,
    last_refreshed_at: null,
    last_authenticated_at: input.lastAuthenticatedAt,
    lease_owner: null,
    lease_until: null,
    created_at: input.now,
    updated_at: input.now,
    ...sealSecrets(vault, orgId, input.id, secrets),
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('connections').values(row).execute();
    await writeTags(trx, orgId, input.id, input.tags);
  });
  return row;
}

async function writeTags(db: Db, orgId: string, id: string, tags: string[]): Promise<void> {
  await db.deleteFrom('connection_tags').where('org_id', '=', orgId).where('connection_id', '=', id).execute();
  const unique = [...new Set(tags)];
  if (unique.length > 0) await db.insertInto('connection_tags').values(unique.map((tag) => ({ connection_id: id, org_id: orgId, tag }))).execute();
}

export async function setTags(db: Db, orgId: string, id: string, tags: string[]): Promise<void> {
  await db.transaction().execute((trx) => writeTags(trx, orgId, id, tags));
}

/** The by-id read runs on every proxied call: compiled once per database (or transaction), reused with new parameters. */
const byIdQuery = compiledOnce((db) => db.selectFrom('connections').selectAll().where('org_id', '=', '').where('id', '=', ''));

export async function getConnection(db: Db, orgId: string, id: string): Promise<ConnectionRow | undefined> {
  return (await db.executeQuery<ConnectionRow>(CompiledQuery.raw(byIdQuery(db), [orgId, id]))).rows[0];
}

/** A row of another organization is reported exactly like a missing one (404, never 403). */
export async function requireConnection(db: Db, orgId: string, id: string): Promise<ConnectionRow> {
  const row = await getConnection(db, orgId, id);
  if (row === undefined) throw new PlugboardError('NOT_FOUND', `No instance ${id} in this organization.`, { details: [{ path: 'params.id', message: 'expected the id of an instance of this organization (GET /instances lists them)' }] });
  return row;
}

/** Resolves an `Element <token>` credential's lookup prefix; the caller compares the hash in constant time. */
export async function findConnectionByTokenLookup(db: Db, lookup: string): Promise<Pick<ConnectionRow, 'id' | 'org_id' | 'token_hash' | 'disabled' | 'revoked'> | undefined> {
  return db.selectFrom('connections').select(['id', 'org_id', 'token_hash', 'disabled', 'revoked']).where('token_lookup', '=', lookup).executeTakeFirst();
}

export async function tagsOf(db: Db, orgId: string, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('connection_tags').select(['connection_id', 'tag']).where('org_id', '=', orgId).where('connection_id', 'in', ids).orderBy('tag').execute();
  for (const row of rows) out.get(row.connection_id)?.push(row.tag);
  return out;
}

export interface ConnectionFilter {
  element?: string | undefined;
  tags?: string[] | undefined;
  externalUserId?: string | undefined;
  status?: ConnectionStatus | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Newest first; the cursor is the (created_at, id) of the last row returned, so pages are stable under inserts. */
export async function listConnections(db: Db, orgId: string, filter: ConnectionFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<ConnectionRow>> {
  let query = db.selectFrom('connections').selectAll().where('org_id', '=', orgId);
  if (filter.element !== undefined) query = query.where('element_key', '=', filter.element);
  if (filter.externalUserId !== undefined) query = query.where('external_user_id', '=', filter.externalUserId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  const tags = [...new Set(filter.tags ?? [])];
  if (tags.length > 0) {
    query = query.where('id', 'in', db.selectFrom('connection_tags').select('connection_id')
      .where('org_id', '=', orgId).where('tag', 'in', tags)
      .groupBy('connection_id').having(sql<number>`count(*)`, '=', tags.length));
  }
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor);
    query = query.where((eb) => eb.or([eb('created_at', '<', after.time), eb.and([eb('created_at', '=', after.time), eb('id', '<', after.id)])]));
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: nextCursorOf(rows, page.limit, (row) => ({ time: row.created_at, id: row.id })) };
}

export type ConnectionPatch = Partial<Omit<ConnectionRow, 'id' | 'org_id' | 'created_at' | SecretField>>;

export async function updateConnection(db: Db, vault: SecretSealer, orgId: string, id: string, patch: ConnectionPatch, secrets: ConnectionSecrets = {}, now = new Date().toISOString()): Promise<void> {
  await db.updateTable('connections').set({ ...patch, ...sealSecrets(vault, orgId, id, secrets), updated_at: now }).where('org_id', '=', orgId).where('id', '=', id).execute();
}

export async function deleteConnection(db: Db, orgId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('connections').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

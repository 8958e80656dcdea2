/**
 * API keys of an organization. A key is `pb_<lookup>_<secret>`: it is shown once at creation and stored as a
 * SHA-256 hash; the lookup finds the row and the hash is compared in constant time. Each key carries its own
 * permissions (a subset of what its creator may do) and is revoked by setting `revoked_at`, never deleted, so
 * listings keep the history of who had access.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { issueCredential } from '../crypto/secret-hash.ts';
import { newId } from '../crypto/random.ts';
import { isPermission, type Permission } from '../core/permissions.ts';
import type { ApiKeyTable, Database } from './schema.ts';
import { changeStampOf, readNow } from './sqlite/database.ts';

export interface ApiKey {
  id: string;
  orgId: string;
  userId: string;
  name: string;
  /** Public prefix of the key (`pb_<lookup>_...`), safe to show. */
  prefix: string;
  permissions: Permission[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/**
 * The permissions of a stored list, parsed and checked once per distinct list (there are a few per organization);
 * each key gets its own copy of the array.
 */
const parsedPermissions = new Map<string, readonly Permission[]>();
const PARSED_PERMISSIONS_SIZE = 1_000;

function permissionsOf(stored: string): Permission[] {
  let permissions = parsedPermissions.get(stored);
  if (permissions === undefined) {
    permissions = (JSON.parse(stored) as string[]).filter(isPermission);
    if (parsedPermissions.size >= PARSED_PERMISSIONS_SIZE) parsedPermissions.clear();
    parsedPermissions.set(stored, permissions);
  }
  return permissions.slice();
}

function toApiKey(row: ApiKeyTable): ApiKey {
  const permissions = permissionsOf(row.permissions);
  return {
    id: row.id, orgId: row.org_id, userId: row.user_id, name: row.name, prefix: `pb_${row.lookup}`, permissions,
    createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at,
  };
}

export async function createApiKey(
  db: Kysely<Database>,
  orgId: string,
  input: { userId: string; name: string; permissions: readonly Permission[] },
): Promise<{ apiKey: ApiKey; secret: string }> {
  const credential = issueCredential('pb');
  const row: ApiKeyTable = {
    id: newId(), org_id: orgId, user_id: input.userId, name: input.name, lookup: credential.lookup, secret_hash: credential.hash,
    permissions: JSON.stringify([...new Set(input.permissions)]), created_at: new Date().toISOString(), last_used_at: null, revoked_at: null,
  };
  await db.insertInto('api_keys').values(row).execute();
  return { apiKey: toApiKey(row), secret: credential.value };
}

/** Compiled once per database: building the query is a sizeable share of a listing's CPU; only `orgId` varies. */
const listQueries = new WeakMap<Kysely<Database>, CompiledQuery>();

export async function listApiKeys(db: Kysely<Database>, orgId: string): Promise<ApiKey[]> {
  let compiled = listQueries.get(db);
  if (compiled === undefined) {
    compiled = db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).orderBy('created_at').orderBy('id').compile();
    listQueries.set(db, compiled);
  }
  const rows = readNow<ApiKeyTable>(db, compiled.sql, [orgId]) ?? (await db.executeQuery<ApiKeyTable>(CompiledQuery.raw(compiled.sql, [orgId]))).rows;
  return rows.map(toApiKey);
}

export async function getApiKey(db: Kysely<Database>, orgId: string, id: string): Promise<ApiKey | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toApiKey(row);
}

/** Revokes a key of `orgId`; returns it, or undefined when the organization has no such key. Idempotent. */
export async function revokeApiKey(db: Kysely<Database>, orgId: string, id: string, now = new Date()): Promise<ApiKey | undefined> {
  forgetCachedApiKey(db, id);
  await db.updateTable('api_keys').set({ revoked_at: now.toISOString() }).where('org_id', '=', orgId).where('id', '=', id).where('revoked_at', 'is', null).execute();
  forgetCachedApiKey(db, id);
  return getApiKey(db, orgId, id);
}

/** The authentication query runs on every request: it is compiled once per database and reused with new parameters. */
const lookupQueries = new WeakMap<Kysely<Database>, CompiledQuery>();

/** Authentication only: the key behind a lookup, with its hash for the constant-time comparison. */
export async function findApiKeyCredential(db: Kysely<Database>, lookup: string): Promise<(ApiKey & { secretHash: string }) | undefined> {
  let compiled = lookupQueries.get(db);
  if (compiled === undefined) {
    compiled = db.selectFrom('api_keys').selectAll().where('lookup', '=', lookup).compile();
    lookupQueries.set(db, compiled);
  }
  const rows = readNow<ApiKeyTable>(db, compiled.sql, [lookup]) ?? (await db.executeQuery<ApiKeyTable>(CompiledQuery.raw(compiled.sql, [lookup]))).rows;
  const row = rows[0];
  return row === undefined ? undefined : { ...toApiKey(row), secretHash: row.secret_hash };
}

/**
 * Resolved keys kept briefly in this process, so authenticating a busy caller is not a store read per request. On
 * SQLite an entry is also tagged with the database's change stamp and dropped as soon as anything is written, by this
 * process or another (so a revocation anywhere takes effect on the next request). On PostgreSQL a revocation through
 * `revokeApiKey` in this process drops the entry at once (before and after its write, and a lookup that overlapped a
 * revocation does not store what it read); one written by another process sharing the database takes effect here
 * within API_KEY_CACHE_MS (docs/security.md). Unknown lookups are not cached, so a new key works at once. The secret
 * is still compared with the cached hash on every request.
 */
export const API_KEY_CACHE_MS = 5_000;
const API_KEY_CACHE_SIZE = 10_000;
type CachedKey = { key: ApiKey & { secretHash: string }; until: number; stamp: string | undefined };
const keyCaches = new WeakMap<Kysely<Database>, Map<string, CachedKey>>();
/** Bumped on every local revocation: a lookup that started before one does not store what it read. */
let revocations = 0;

function forgetCachedApiKey(db: Kysely<Database>, id: string): void {
  revocations++;
  const cache = keyCaches.get(db);
  if (cache === undefined) return;
  for (const [lookup, entry] of cache) if (entry.key.id === id) cache.delete(lookup);
}

function keyCacheOf(db: Kysely<Database>): Map<string, CachedKey> {
  let cache = keyCaches.get(db);
  if (cache === undefined) {
    cache = new Map();
    keyCaches.set(db, cache);
  }
  return cache;
}

/**
 * The cached key behind a lookup when the cache holds a valid entry, synchronously (no store read, no promise);
 * undefined on a miss, which says nothing about the key: `findApiKeyCredentialCached` then reads the store.
 */
export function cachedApiKeyCredential(db: Kysely<Database>, lookup: string, now = Date.now()): (ApiKey & { secretHash: string }) | undefined {
  const hit = keyCaches.get(db)?.get(lookup);
  if (hit === undefined || hit.until <= now || hit.stamp !== changeStampOf(db)?.()) return undefined;
  return hit.key;
}

/** `findApiKeyCredential` through the per-process cache (the authentication path). */
export async function findApiKeyCredentialCached(db: Kysely<Database>, lookup: string, now = Date.now()): Promise<(ApiKey & { secretHash: string }) | undefined> {
  const cache = keyCacheOf(db);
  const stamp = changeStampOf(db)?.();
  const hit = cache.get(lookup);
  if (hit !== undefined && hit.until > now && hit.stamp === stamp) return hit.key;
  const seen = revocations;
  const key = await findApiKeyCredential(db, lookup);
  if (key !== undefined && seen === revocations) {
    if (cache.size >= API_KEY_CACHE_SIZE) cache.clear();
    cache.set(lookup, { key, until: now + API_KEY_CACHE_MS, stamp });
  }
  return key;
}

export async function touchApiKey(db: Kysely<Database>, orgId: string, id: string, at: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at.toISOString() }).where('org_id', '=', orgId).where('id', '=', id).execute();
}

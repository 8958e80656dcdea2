/**
 * API keys of an organization. A key is `pb_<lookup>_<secret>`: it is shown once at creation and stored as a
 * SHA-256 hash; the lookup finds the row and the hash is compared in constant time. Each key carries its own
 * permissions (a subset of what its creator may do) and is revoked by setting `revoked_at`, never deleted, so
 * listings keep the history of who had access.
 */
import type { Kysely } from 'kysely';
import { issueCredential } from '../crypto/secret-hash.ts';
import { newId } from '../crypto/random.ts';
import { isPermission, type Permission } from '../core/permissions.ts';
import type { ApiKeyTable, Database } from './schema.ts';
import { changeStampOf } from './sqlite/database.ts';
import { compiledOnce, readCompiled } from './compiled.ts';

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
const listQuery = compiledOnce((db) => db.selectFrom('api_keys').selectAll().where('org_id', '=', '').orderBy('created_at').orderBy('id'));

export async function listApiKeys(db: Kysely<Database>, orgId: string): Promise<ApiKey[]> {
  return (await readCompiled<ApiKeyTable>(db, listQuery(db), [orgId])).map(toApiKey);
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
const lookupQuery = compiledOnce((db) => db.selectFrom('api_keys').selectAll().where('lookup', '=', ''));

/** Authentication only: the key behind a lookup, with its hash for the constant-time comparison. */
export async function findApiKeyCredential(db: Kysely<Database>, lookup: string): Promise<(ApiKey & { secretHash: string }) | undefined> {
  const row = (await readCompiled<ApiKeyTable>(db, lookupQuery(db), [lookup]))[0];
  return row === undefined ? undefined : { ...toApiKey(row), secretHash: row.secret_hash };
}

/**
 * Resolved keys kept briefly in this process, so authenticating a busy caller is not a store read per request. An
 * entry lives at most API_KEY_CACHE_MS and is dropped sooner when anything may have changed it:
 * - on SQLite it is tagged with the database's change stamp and dropped as soon as anything is written, by this
 *   process or another;
 * - on PostgreSQL every write that can change a key (revocation, its user or organization changing or going) sends a
 *   notice from a trigger in its own transaction, and the store's listener (`postgres/notify.ts`) drops the matching
 *   entries as the notice arrives, in every process sharing the database. The cache serves nothing while that listener
 *   is not live (not yet connected, or reconnecting): each authentication then reads the store, so a revocation never
 *   waits on the listener. Any other database (no change stamp, no listener) is read every time.
 * In every case a revocation through `revokeApiKey` drops the entry of this process at once (before and after its
 * write), and a lookup that overlapped a revocation, a notice or a change of the listener's state does not store what
 * it read. Unknown lookups are not cached, so a new key works at once. The secret is still compared with the cached
 * hash on every request (docs/security.md).
 */
export const API_KEY_CACHE_MS = 5_000;
const API_KEY_CACHE_SIZE = 10_000;
type CachedKey = { key: ApiKey & { secretHash: string }; until: number; stamp: string | undefined };
interface KeyCache {
  entries: Map<string, CachedKey>;
  /** SQLite's change stamp; undefined on PostgreSQL. */
  stamp: (() => string) | undefined;
  /** Whether entries may be served: always on SQLite, while the credential listener is live on PostgreSQL. */
  live: boolean;
  /** Bumped on every drop: a lookup that started before one does not store what it read. */
  generation: number;
}
const keyCaches = new WeakMap<Kysely<Database>, KeyCache>();

/** What a credential notice asks to drop: the entries of one key, of one user's keys, of one organization's, or all. */
export type CredentialNotice = { kind: 'api_key' | 'user' | 'organization'; id: string } | { kind: 'all' };

function keyCacheOf(db: Kysely<Database>): KeyCache {
  let cache = keyCaches.get(db);
  if (cache === undefined) {
    const stamp = changeStampOf(db);
    cache = { entries: new Map(), stamp, live: stamp !== undefined, generation: 0 };
    keyCaches.set(db, cache);
  }
  return cache;
}

function ownerOf(key: ApiKey, kind: 'api_key' | 'user' | 'organization'): string {
  return kind === 'api_key' ? key.id : kind === 'user' ? key.userId : key.orgId;
}

/** Drops the cached entries a credential notice names (all of them for `all`). */
export function dropCachedCredentials(db: Kysely<Database>, notice: CredentialNotice): void {
  const cache = keyCacheOf(db);
  cache.generation++;
  if (notice.kind === 'all') {
    cache.entries.clear();
    return;
  }
  for (const [lookup, entry] of cache.entries) if (ownerOf(entry.key, notice.kind) === notice.id) cache.entries.delete(lookup);
}

/**
 * PostgreSQL: whether the credential listener of `db` is live. Either change empties the cache: notices sent while
 * nobody listened are lost, so nothing read before can be trusted.
 */
export function setKeyCacheLive(db: Kysely<Database>, live: boolean): void {
  const cache = keyCacheOf(db);
  cache.live = live;
  cache.generation++;
  cache.entries.clear();
}

function forgetCachedApiKey(db: Kysely<Database>, id: string): void {
  dropCachedCredentials(db, { kind: 'api_key', id });
}

/**
 * The cached key behind a lookup when the cache holds a valid entry, synchronously (no store read, no promise);
 * undefined on a miss, which says nothing about the key: `findApiKeyCredentialCached` then reads the store.
 * `stamp`: the SQLite change stamp when the caller has just read it in the same synchronous turn (one read serving
 * several caches); otherwise it is read here.
 */
export function cachedApiKeyCredential(db: Kysely<Database>, lookup: string, now = Date.now(), stamp?: string): (ApiKey & { secretHash: string }) | undefined {
  const cache = keyCaches.get(db);
  if (cache === undefined || !cache.live) return undefined;
  return servedKey(cache, lookup, now, stamp ?? cache.stamp?.());
}

/** The entry's key while it may be served: not expired, and read at the database's current change stamp. */
function servedKey(cache: KeyCache, lookup: string, now: number, stamp: string | undefined): (ApiKey & { secretHash: string }) | undefined {
  const hit = cache.entries.get(lookup);
  return hit !== undefined && hit.until > now && hit.stamp === stamp ? hit.key : undefined;
}

/** `findApiKeyCredential` through the per-process cache (the authentication path). */
export async function findApiKeyCredentialCached(db: Kysely<Database>, lookup: string, now = Date.now()): Promise<(ApiKey & { secretHash: string }) | undefined> {
  const cache = keyCacheOf(db);
  if (!cache.live) return findApiKeyCredential(db, lookup);
  const stamp = cache.stamp?.();
  const hit = servedKey(cache, lookup, now, stamp);
  if (hit !== undefined) return hit;
  const seen = cache.generation;
  const key = await findApiKeyCredential(db, lookup);
  if (key !== undefined && seen === cache.generation && cache.live) {
    if (cache.entries.size >= API_KEY_CACHE_SIZE) cache.entries.clear();
    cache.entries.set(lookup, { key, until: now + API_KEY_CACHE_MS, stamp });
  }
  return key;
}

export async function touchApiKey(db: Kysely<Database>, orgId: string, id: string, at: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at.toISOString() }).where('org_id', '=', orgId).where('id', '=', id).execute();
}

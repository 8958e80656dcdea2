/**
 * Binds the forwarding core to a stored connection: where to send (the connector's base URL or the connection's
 * override, the connector's credential placement and its explicit insecure-target opt-ins) and the credential
 * operations (fresh token, refresh after a 401, invalid/valid marks). Token refresh goes through the connections
 * area's `getFreshAccessToken`, which takes the per-connection lock, so one refresh happens at a time per connection
 * across processes and a caller that waited for the lock reuses the token the holder obtained.
 */

import { PlugboardError, isPlugboardError } from '../core/errors.ts';
import { assertUsable } from '../core/connection.ts';
import { requireConnection, openSecret, stateOf, type ConnectionRow, type SecretSealer } from '../store/connections.ts';
import { applyConnectionAction, getFreshAccessToken, REFRESH_MARGIN_MS } from '../auth/tokens.ts';
import { resolveConnector } from '../auth/resolve.ts';
import { baseUrlOf } from '../auth/provider.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { ConnectionCredentials, ProxyCredential, ProxyTarget, RefreshOutcome } from './forward.ts';
import { disableForRefreshFailures } from '../health/check.ts';
import { changeStampOf } from '../store/sqlite/database.ts';

export interface ProxyContext {
  store: { db: Kysely<Database> };
  vault: SecretSealer;
}

export interface ProxyConnection {
  row: ConnectionRow;
  connector: ConnectorDefinition;
  target: ProxyTarget;
  credentials: ConnectionCredentials;
}

function missingCredential(instanceId: string, what: string): PlugboardError {
  return new PlugboardError('INVALID_ACCESS_TOKEN', `Instance ${instanceId} holds no ${what}; re-authenticate it with PATCH /instances/{id}.`);
}

export interface ProxyConnectionOptions {
  /** Consecutive failed refreshes after which the connection is disabled (configuration `health.refreshFailureLimit`). */
  refreshFailureLimit: number;
}

/**
 * Connector definitions by organization and key, kept briefly: resolving one is a store read plus validation, on
 * every proxied call otherwise. A newly deployed connector version reaches the proxy within CONNECTOR_CACHE_MS.
 */
const CONNECTOR_CACHE_MS = 2_000;
const connectorCache = new Map<string, { def: ConnectorDefinition; until: number }>();

async function cachedConnector(ctx: ProxyContext, orgId: string, key: string): Promise<ConnectorDefinition> {
  const cacheKey = `${orgId}\u0000${key}`;
  const now = Date.now();
  const hit = connectorCache.get(cacheKey);
  if (hit !== undefined && hit.until > now) return hit.def;
  const def = await resolveConnector(ctx, orgId, key);
  if (connectorCache.size > 10_000) connectorCache.clear();
  connectorCache.set(cacheKey, { def, until: now + CONNECTOR_CACHE_MS });
  return def;
}

/**
 * Opened secrets (access tokens, API keys, basic credentials) by their sealed envelope. An envelope is bound to one
 * row and field and changes whenever the secret does, so a hit can never be a stale secret; it saves an AES-GCM open
 * per call on a hot connection.
 */
const OPENED_CACHE_SIZE = 1_000;
const openedSecrets = new Map<string, string>();

function openCached(ctx: ProxyContext, row: ConnectionRow, field: 'access_token' | 'api_key' | 'username' | 'password'): string | null {
  const sealed = row[field];
  if (sealed === null) return null;
  const hit = openedSecrets.get(sealed);
  if (hit !== undefined) return hit;
  const secret = openSecret(ctx.vault, row, field);
  if (secret !== null) {
    openedSecrets.set(sealed, secret);
    if (openedSecrets.size > OPENED_CACHE_SIZE) openedSecrets.delete(openedSecrets.keys().next().value as string);
  }
  return secret;
}

const OAUTH_TYPES: ReadonlySet<string> = new Set(['oauth2_authorization_code', 'oauth2_client_credentials']);

interface ResolvedConnection {
  row: ConnectionRow;
  connector: ConnectorDefinition;
  target: ProxyTarget;
  /** When an OAuth token must be refreshed before use (its expiry less the margin), in ms; Infinity when it has none. */
  refreshDueAt: number;
  /** The credential opened from this row, once a call has opened it (an entry lives only as long as its row). */
  credential?: ProxyCredential | null;
}

async function resolveConnection(ctx: ProxyContext, orgId: string, instanceId: string): Promise<ResolvedConnection> {
  const row = await requireConnection(ctx.store.db, orgId, instanceId);
  const connector = await cachedConnector(ctx, orgId, row.element_key);
  const configuration = JSON.parse(row.configuration) as Record<string, unknown>;
  const insecure = connector.dangerouslyAllowInsecureTargets;
  const target: ProxyTarget = {
    baseUrl: baseUrlOf(connector, configuration, row.base_url),
    placement: connector.auth.apply,
    policy: { allowPrivateTargets: insecure.privateNetwork },
    allowPlainHttp: insecure.plainHttp,
  };
  // Only OAuth tokens expire and refresh; API keys and basic credentials are used as they are. An expiry that does
  // not parse counts as due (refresh first), as it always has.
  const expiresAt = OAUTH_TYPES.has(row.auth_type) && row.expires_at !== null ? Date.parse(row.expires_at) : Infinity;
  const refreshDueAt = Number.isNaN(expiresAt) ? -Infinity : expiresAt - REFRESH_MARGIN_MS;
  return { row, connector, target, refreshDueAt };
}

/**
 * Resolved connections (row, connector, target) of the stores that have a change stamp (SQLite), each entry tagged
 * with the stamp read before its row was. Any write to the database, by this process or another one, moves the
 * stamp, so an entry is only ever used while nothing at all has been written since it was read: a revoked, disabled,
 * re-authenticated or deleted connection is never served from here. Without a stamp (PostgreSQL) the row is read on
 * every call. Entries are by organization, then instance id (no key string built per call).
 */
const CONNECTION_CACHE_SIZE = 10_000;
type CachedConnection = ResolvedConnection & { stamp: string };
interface ConnectionCache {
  size: number;
  byOrg: Map<string, Map<string, CachedConnection>>;
}
const connectionCaches = new WeakMap<object, ConnectionCache>();

function remember(db: object, orgId: string, instanceId: string, entry: CachedConnection): void {
  let cache = connectionCaches.get(db);
  if (cache === undefined || cache.size >= CONNECTION_CACHE_SIZE) {
    cache = { size: 0, byOrg: new Map() };
    connectionCaches.set(db, cache);
  }
  let ofOrg = cache.byOrg.get(orgId);
  if (ofOrg === undefined) {
    ofOrg = new Map();
    cache.byOrg.set(orgId, ofOrg);
  }
  if (!ofOrg.has(instanceId)) cache.size++;
  ofOrg.set(instanceId, entry);
}

/**
 * The cached connection when nothing has been written to the database since it was read; otherwise null. `stamp`:
 * the change stamp when the caller read it in this same synchronous turn, else it is read here.
 */
function currentEntry(ctx: ProxyContext, orgId: string, instanceId: string, stamp?: string): ResolvedConnection | null {
  const stampOf = changeStampOf(ctx.store.db);
  if (stampOf === undefined) return null;
  const hit = connectionCaches.get(ctx.store.db)?.byOrg.get(orgId)?.get(instanceId);
  return hit !== undefined && hit.stamp === (stamp ?? stampOf()) ? hit : null;
}

async function loadConnection(ctx: ProxyContext, orgId: string, instanceId: string): Promise<ResolvedConnection> {
  const stampOf = changeStampOf(ctx.store.db);
  if (stampOf === undefined) return resolveConnection(ctx, orgId, instanceId);
  // Read before the row: a write that lands while the row is being read leaves the entry already outdated.
  const stamp = stampOf();
  const resolved = await resolveConnection(ctx, orgId, instanceId);
  remember(ctx.store.db, orgId, instanceId, { ...resolved, stamp });
  return resolved;
}

function usable(ctx: ProxyContext, resolved: ResolvedConnection, options: ProxyConnectionOptions): ProxyConnection {
  assertUsable(stateOf(resolved.row));
  return { row: resolved.row, connector: resolved.connector, target: resolved.target, credentials: new StoredCredentials(ctx, resolved, options) };
}

/**
 * The connection for a proxied call when it can be had without a read (a current cache entry): the synchronous hot
 * path. Null is not a verdict: `openProxyConnection` then reads the store. Throws like `openProxyConnection` for a
 * disabled or revoked connection.
 */
export function openProxyConnectionNow(ctx: ProxyContext, orgId: string, instanceId: string, options: ProxyConnectionOptions, stamp?: string): ProxyConnection | null {
  const resolved = currentEntry(ctx, orgId, instanceId, stamp);
  return resolved === null ? null : usable(ctx, resolved, options);
}

/**
 * Loads a connection for a proxied call from the store, when `openProxyConnectionNow` had no current entry (and
 * remembers it): 404 when not in this organization, 409 when disabled or revoked. The credential operations are built
 * per call: they remember whether this call already knows the connection valid.
 */
export async function openProxyConnection(ctx: ProxyContext, orgId: string, instanceId: string, options: ProxyConnectionOptions): Promise<ProxyConnection> {
  return usable(ctx, await loadConnection(ctx, orgId, instanceId), options);
}

/** The credential operations of one call on one stored connection (one object per call, no closures). */
class StoredCredentials implements ConnectionCredentials {
  readonly #ctx: ProxyContext;
  readonly #resolved: ResolvedConnection;
  readonly #row: ConnectionRow;
  readonly #options: ProxyConnectionOptions;
  #knownValid: boolean;

  constructor(ctx: ProxyContext, resolved: ResolvedConnection, options: ProxyConnectionOptions) {
    this.#ctx = ctx;
    this.#resolved = resolved;
    this.#row = resolved.row;
    this.#options = options;
    this.#knownValid = resolved.row.valid === 1;
  }

  /** The credential from the row already loaded, or null when an OAuth token must be refreshed first. */
  currentNow(): ProxyCredential | null {
    const resolved = this.#resolved;
    // A token that is not close to expiry needs no lock and no second read.
    if (resolved.refreshDueAt <= Date.now()) return null;
    return (resolved.credential ??= this.#open());
  }

  #open(): ProxyCredential | null {
    const row = this.#row;
    if (OAUTH_TYPES.has(row.auth_type)) {
      const token = openCached(this.#ctx, row, 'access_token');
      return token === null ? null : Object.freeze({ kind: 'token', value: token });
    }
    if (row.auth_type === 'basic') {
      const username = openCached(this.#ctx, row, 'username');
      const password = openCached(this.#ctx, row, 'password');
      if (username === null || password === null) throw missingCredential(row.id, 'username and password');
      return Object.freeze({ kind: 'basic', username, password });
    }
    const apiKey = openCached(this.#ctx, row, 'api_key');
    if (apiKey === null) throw missingCredential(row.id, 'API key');
    return Object.freeze({ kind: 'token', value: apiKey });
  }

  async current(): Promise<ProxyCredential> {
    const now = this.currentNow();
    if (now !== null) return now;
    const token = await this.#fresh();
    return { kind: 'token', value: token.accessToken };
  }

  async refreshAfterRejection(rejected: ProxyCredential): Promise<RefreshOutcome> {
    if (!OAUTH_TYPES.has(this.#row.auth_type)) {
      return { ok: false, reason: 'not_refreshable', message: this.#row.auth_type === 'basic' ? 'basic credentials cannot be refreshed' : 'an API key cannot be refreshed' };
    }
    const rejectedAccessToken = rejected.kind === 'token' ? rejected.value : undefined;
    try {
      const token = await this.#fresh(rejectedAccessToken);
      return { ok: true, credential: { kind: 'token', value: token.accessToken } };
    } catch (error) {
      // The connections area turns invalid_grant (and "no refresh token") into INVALID_ACCESS_TOKEN.
      if (isPlugboardError(error) && error.code === 'INVALID_ACCESS_TOKEN') return { ok: false, reason: 'invalid_grant', message: error.message };
      if (isPlugboardError(error) && error.code === 'NOT_FOUND') {
        // Still there (requireConnection throws otherwise), so what is missing is the means to refresh: the
        // organization's OAuth app. The credential is dead all the same.
        await requireConnection(this.#ctx.store.db, this.#row.org_id, this.#row.id);
        return { ok: false, reason: 'not_refreshable', message: error.message };
      }
      throw error;
    }
  }

  async markInvalid(reason: string): Promise<void> {
    this.#knownValid = false;
    await this.#setState('invalidate', reason);
  }

  markValid(): Promise<void> | undefined {
    if (this.#knownValid) return undefined;
    this.#knownValid = true;
    return this.#setState('validate', '');
  }

  /** A transient refresh failure (provider down) was counted by the connections area; past the limit, disable. */
  async #fresh(rejectedAccessToken?: string) {
    const ctx = this.#ctx;
    const { org_id: orgId, id: instanceId } = this.#row;
    try {
      return await getFreshAccessToken(ctx, orgId, instanceId, rejectedAccessToken === undefined ? {} : { rejectedAccessToken });
    } catch (error) {
      if (isPlugboardError(error) && (error.code === 'PROVIDER_ERROR' || error.code === 'PROVIDER_UNREACHABLE' || error.code === 'OAUTH_ERROR')) {
        await disableForRefreshFailures(ctx, await requireConnection(ctx.store.db, orgId, instanceId), this.#options.refreshFailureLimit);
      }
      throw error;
    }
  }

  async #setState(kind: 'invalidate' | 'validate', reason: string): Promise<void> {
    const fresh = await requireConnection(this.#ctx.store.db, this.#row.org_id, this.#row.id);
    // A connection revoked or re-authenticated meanwhile is left as it is.
    if (fresh.revoked === 1) return;
    await applyConnectionAction(this.#ctx, fresh, kind === 'invalidate' ? { kind: 'invalidate', reason } : { kind: 'validate' });
  }
}

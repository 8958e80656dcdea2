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
 * Opened access tokens by their sealed envelope. An envelope is bound to one row and field and changes whenever the
 * token does, so a hit can never be a stale token; it saves an AES-GCM open per call on a hot connection.
 */
const OPENED_CACHE_SIZE = 1_000;
const openedTokens = new Map<string, string>();

function openAccessToken(ctx: ProxyContext, row: ConnectionRow): string | null {
  const sealed = row.access_token;
  if (sealed === null) return null;
  const hit = openedTokens.get(sealed);
  if (hit !== undefined) return hit;
  const token = openSecret(ctx.vault, row, 'access_token');
  if (token !== null) {
    openedTokens.set(sealed, token);
    if (openedTokens.size > OPENED_CACHE_SIZE) openedTokens.delete(openedTokens.keys().next().value as string);
  }
  return token;
}

interface ResolvedConnection {
  row: ConnectionRow;
  connector: ConnectorDefinition;
  target: ProxyTarget;
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
  return { row, connector, target };
}

/**
 * Resolved connections (row, connector, target) of the stores that have a change stamp (SQLite), each entry tagged
 * with the stamp read before its row was. Any write to the database, by this process or another one, moves the
 * stamp, so an entry is only ever used while nothing at all has been written since it was read: a revoked, disabled,
 * re-authenticated or deleted connection is never served from here. Without a stamp (PostgreSQL) the row is read on
 * every call.
 */
const CONNECTION_CACHE_SIZE = 10_000;
const connectionCaches = new WeakMap<object, Map<string, ResolvedConnection & { stamp: string }>>();

async function loadConnection(ctx: ProxyContext, orgId: string, instanceId: string): Promise<ResolvedConnection> {
  const stampOf = changeStampOf(ctx.store.db);
  if (stampOf === undefined) return resolveConnection(ctx, orgId, instanceId);
  let cache = connectionCaches.get(ctx.store.db);
  if (cache === undefined) {
    cache = new Map();
    connectionCaches.set(ctx.store.db, cache);
  }
  const key = `${orgId}\u0000${instanceId}`;
  const stamp = stampOf();
  const hit = cache.get(key);
  if (hit !== undefined && hit.stamp === stamp) return hit;
  const resolved = await resolveConnection(ctx, orgId, instanceId);
  if (cache.size >= CONNECTION_CACHE_SIZE) cache.clear();
  cache.set(key, { ...resolved, stamp });
  return resolved;
}

/**
 * Loads a connection for a proxied call: 404 when not in this organization, 409 when disabled or revoked. The
 * credential operations are built per call: they remember whether this call already knows the connection valid.
 */
export async function openProxyConnection(ctx: ProxyContext, orgId: string, instanceId: string, options: ProxyConnectionOptions): Promise<ProxyConnection> {
  const { row, connector, target } = await loadConnection(ctx, orgId, instanceId);
  assertUsable(stateOf(row));
  return { row, connector, target, credentials: credentialsOf(ctx, row, options) };
}

function credentialsOf(ctx: ProxyContext, row: ConnectionRow, options: ProxyConnectionOptions): ConnectionCredentials {
  const orgId = row.org_id;
  const instanceId = row.id;
  /** A transient refresh failure (provider down) was counted by the connections area; past the limit, disable. */
  const fresh = async (rejectedAccessToken?: string) => {
    try {
      return await getFreshAccessToken(ctx, orgId, instanceId, rejectedAccessToken === undefined ? {} : { rejectedAccessToken });
    } catch (error) {
      if (isPlugboardError(error) && (error.code === 'PROVIDER_ERROR' || error.code === 'PROVIDER_UNREACHABLE' || error.code === 'OAUTH_ERROR')) {
        await disableForRefreshFailures(ctx, await requireConnection(ctx.store.db, orgId, instanceId), options.refreshFailureLimit);
      }
      throw error;
    }
  };
  let knownValid = row.valid === 1;
  const setState = async (kind: 'invalidate' | 'validate', reason: string) => {
    const fresh = await requireConnection(ctx.store.db, orgId, instanceId);
    // A connection revoked or re-authenticated meanwhile is left as it is.
    if (fresh.revoked === 1) return;
    await applyConnectionAction(ctx, fresh, kind === 'invalidate' ? { kind: 'invalidate', reason } : { kind: 'validate' });
  };
  const common = {
    async markInvalid(reason: string) {
      knownValid = false;
      await setState('invalidate', reason);
    },
    async markValid() {
      if (knownValid) return;
      knownValid = true;
      await setState('validate', '');
    },
  };

  if (row.auth_type === 'oauth2_authorization_code' || row.auth_type === 'oauth2_client_credentials') {
    return {
      ...common,
      async current(): Promise<ProxyCredential> {
        // Fast path on the row already loaded: a token that is not close to expiry needs no lock and no second read.
        const stored = row.expires_at === null || Date.parse(row.expires_at) - REFRESH_MARGIN_MS > Date.now() ? openAccessToken(ctx, row) : null;
        if (stored !== null) return { kind: 'token', value: stored };
        const token = await fresh();
        return { kind: 'token', value: token.accessToken };
      },
      async refreshAfterRejection(rejected: ProxyCredential): Promise<RefreshOutcome> {
        const rejectedAccessToken = rejected.kind === 'token' ? rejected.value : undefined;
        try {
          const token = await fresh(rejectedAccessToken);
          return { ok: true, credential: { kind: 'token', value: token.accessToken } };
        } catch (error) {
          // The connections area turns invalid_grant (and "no refresh token") into INVALID_ACCESS_TOKEN.
          if (isPlugboardError(error) && error.code === 'INVALID_ACCESS_TOKEN') return { ok: false, reason: 'invalid_grant', message: error.message };
          if (isPlugboardError(error) && error.code === 'NOT_FOUND') {
            // Still there (requireConnection throws otherwise), so what is missing is the means to refresh: the
            // organization's OAuth app. The credential is dead all the same.
            await requireConnection(ctx.store.db, orgId, instanceId);
            return { ok: false, reason: 'not_refreshable', message: error.message };
          }
          throw error;
        }
      },
    };
  }
  if (row.auth_type === 'basic') {
    return {
      ...common,
      async current(): Promise<ProxyCredential> {
        const username = openSecret(ctx.vault, row, 'username');
        const password = openSecret(ctx.vault, row, 'password');
        if (username === null || password === null) throw missingCredential(instanceId, 'username and password');
        return { kind: 'basic', username, password };
      },
      async refreshAfterRejection(): Promise<RefreshOutcome> {
        return { ok: false, reason: 'not_refreshable', message: 'basic credentials cannot be refreshed' };
      },
    };
  }
  return {
    ...common,
    async current(): Promise<ProxyCredential> {
      const apiKey = openSecret(ctx.vault, row, 'api_key');
      if (apiKey === null) throw missingCredential(instanceId, 'API key');
      return { kind: 'token', value: apiKey };
    },
    async refreshAfterRejection(): Promise<RefreshOutcome> {
      return { ok: false, reason: 'not_refreshable', message: 'an API key cannot be refreshed' };
    },
  };
}

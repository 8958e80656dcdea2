/**
 * Tokens at run time. `getFreshAccessToken` returns a connection's access token, refreshing it first when it has
 * expired or expires within `REFRESH_MARGIN_MS` (or when the caller saw it rejected), one refresh at a time per
 * connection across processes (`withConnectionLock`). Providers that send no expiry get their token used until it is
 * rejected; the proxy then asks again with `rejectedAccessToken`. A refresh the provider refuses (`invalid_grant`)
 * marks the connection invalid and raises INVALID_ACCESS_TOKEN; a transient failure (5xx, network) leaves it valid
 * and raises the provider error. `buildAuthObject` gives flows the `auth` object of docs/flows.md and the list of
 * vault values that execution history must redact.
 */
import { PlugboardError } from '../core/errors.ts';
import { assertUsable, transition, type ConnectionAction } from '../core/connection.ts';
import { openSecret, requireConnection, stateColumns, stateOf, updateConnection, type ConnectionPatch, type ConnectionRow, type SecretSealer } from '../store/connections.ts';
import { recordEvent } from '../store/events.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { clientCredentialsGrant, refreshTokens, type OAuthClientCredentials, type OAuthProvider, type TokenSet } from './oauth.ts';
import { baseUrlOf, providerFromConnector } from './provider.ts';
import { withConnectionLock } from './lock.ts';
import { resolveConnector, resolveOAuthClient } from './resolve.ts';

/** Refresh this long before the recorded expiry, so a token is not sent in its last seconds and die in flight. */
export const REFRESH_MARGIN_MS = 60_000;

/** What token operations need from the application context (an AppContext fits). */
export interface TokenContext {
  store: { db: Kysely<Database> };
  vault: SecretSealer;
}

export interface AccessToken {
  accessToken: string;
  tokenType: string;
  expiresAt: string | null;
  /** True when this call refreshed the token. */
  refreshed: boolean;
}

export interface FreshTokenOptions {
  /** The token a provider just rejected: refresh unless the stored one already differs (someone refreshed). */
  rejectedAccessToken?: string;
  now?: () => number;
}

function needsRefresh(row: ConnectionRow, now: number): boolean {
  return row.expires_at !== null && Date.parse(row.expires_at) - REFRESH_MARGIN_MS <= now;
}

function currentToken(ctx: TokenContext, row: ConnectionRow): string | null {
  return openSecret(ctx.vault, row, 'access_token');
}

/** Applies one status action and records its event when it changed something. */
export async function applyConnectionAction(ctx: Pick<TokenContext, 'store' | 'vault'>, row: ConnectionRow, action: ConnectionAction, extra: ConnectionPatch = {}): Promise<ConnectionRow> {
  const change = transition(stateOf(row), action);
  const patch: ConnectionPatch = { ...extra, ...stateColumns(change.state) };
  await updateConnection(ctx.store.db, ctx.vault, row.org_id, row.id, patch);
  if (change.event !== null) await recordEvent(ctx.store.db, row.org_id, { type: change.event, instanceId: row.id, data: change.data });
  return { ...row, ...patch };
}

/** Stores a new token set on a connection (after a refresh, a code exchange or a client credentials grant). */
export async function storeTokens(ctx: Pick<TokenContext, 'store' | 'vault'>, row: ConnectionRow, tokens: TokenSet, now: string, extra: ConnectionPatch = {}): Promise<void> {
  await updateConnection(ctx.store.db, ctx.vault, row.org_id, row.id, {
    token_type: tokens.tokenType,
    expires_at: tokens.expiresAt,
    scope: tokens.scope,
    ...extra,
  }, { access_token: tokens.accessToken, refresh_token: tokens.refreshToken }, now);
}

async function refreshUnderLock(ctx: TokenContext, orgId: string, instanceId: string, options: FreshTokenOptions): Promise<AccessToken> {
  const now = options.now ?? Date.now;
  const row = await requireConnection(ctx.store.db, orgId, instanceId);
  assertUsable(stateOf(row));
  const token = currentToken(ctx, row);
  // Another holder may have refreshed while we waited for the lock: use its result instead of refreshing again.
  const rejected = options.rejectedAccessToken !== undefined && token === options.rejectedAccessToken;
  if (token !== null && !rejected && !needsRefresh(row, now())) {
    return { accessToken: token, tokenType: row.token_type ?? 'bearer', expiresAt: row.expires_at, refreshed: false };
  }
  const def = await resolveConnector(ctx, orgId, row.element_key);
  const configuration = JSON.parse(row.configuration) as Record<string, unknown>;
  const provider: OAuthProvider = providerFromConnector(def, configuration);
  const client = await resolveOAuthClient(ctx, orgId, def, row);
  const refreshToken = openSecret(ctx.vault, row, 'refresh_token');
  let tokens: TokenSet;
  try {
    if (refreshToken !== null) tokens = await refreshTokens(provider, client, refreshToken, { now });
    else if (def.auth.type === 'oauth2_client_credentials') tokens = await clientCredentialsGrant(provider, client, row.scope ?? undefined, { now });
    else throw new PlugboardError('OAUTH_ERROR', 'The access token expired and the provider issued no refresh token.', { providerMessage: { error: 'no_refresh_token' } });
  } catch (error) {
    const failure = error instanceof PlugboardError ? error : new PlugboardError('INTERNAL', 'The token refresh failed unexpectedly.', { cause: error });
    const failures = row.refresh_failures + 1;
    await recordEvent(ctx.store.db, orgId, { type: 'instance.refresh_failed', instanceId, data: { errorCode: failure.code, failures } });
    if (failure.code === 'OAUTH_ERROR') {
      // @see RFC 6749 §5.2 invalid_grant: the grant is gone; only a new authorization brings the connection back.
      await applyConnectionAction(ctx, row, { kind: 'invalidate', reason: 'refresh refused by the provider' }, { refresh_failures: failures });
      throw new PlugboardError('INVALID_ACCESS_TOKEN', `The provider refused to refresh instance ${instanceId}; re-authenticate it with PATCH /instances/{id} and a new code.`, { ...(failure.providerMessage === undefined ? {} : { providerMessage: failure.providerMessage }) });
    }
    await updateConnection(ctx.store.db, ctx.vault, orgId, instanceId, { refresh_failures: failures });
    throw failure;
  }
  const at = new Date(now()).toISOString();
  await storeTokens(ctx, row, tokens, at, { refresh_failures: 0, last_refreshed_at: at });
  await recordEvent(ctx.store.db, orgId, { type: 'instance.refreshed', instanceId, data: { expiresAt: tokens.expiresAt, rotated: tokens.refreshToken !== refreshToken } });
  if (!row.valid) await applyConnectionAction(ctx, { ...row, refresh_failures: 0 }, { kind: 'validate' });
  return { accessToken: tokens.accessToken, tokenType: tokens.tokenType, expiresAt: tokens.expiresAt, refreshed: true };
}

/**
 * The connection's current access token, refreshed first when needed. Throws NOT_FOUND, INSTANCE_DISABLED,
 * INSTANCE_REVOKED, INVALID_ACCESS_TOKEN (re-authenticate), or PROVIDER_ERROR / PROVIDER_UNREACHABLE (transient).
 */
export async function getFreshAccessToken(ctx: TokenContext, orgId: string, instanceId: string, options: FreshTokenOptions = {}): Promise<AccessToken> {
  const now = options.now ?? Date.now;
  const row = await requireConnection(ctx.store.db, orgId, instanceId);
  assertUsable(stateOf(row));
  if (row.auth_type !== 'oauth2_authorization_code' && row.auth_type !== 'oauth2_client_credentials') {
    throw new PlugboardError('CONFLICT', `Instance ${instanceId} uses ${row.auth_type} credentials, which have no access token.`);
  }
  const token = currentToken(ctx, row);
  const rejected = options.rejectedAccessToken !== undefined && token === options.rejectedAccessToken;
  // The fast path takes no lock: reading a token that is still fresh cannot race with anything.
  if (token !== null && !rejected && !needsRefresh(row, now())) {
    return { accessToken: token, tokenType: row.token_type ?? 'bearer', expiresAt: row.expires_at, refreshed: false };
  }
  return withConnectionLock(ctx, orgId, instanceId, () => refreshUnderLock(ctx, orgId, instanceId, options));
}

/** The `auth` object of docs/flows.md; every value that came from the vault is also listed in `secrets`. */
export interface AuthObject {
  accessToken: string | null;
  refreshToken: string | null;
  tokenType: string | null;
  expiresAt: string | null;
  clientId: string | null;
  clientSecret: string | null;
  username: string | null;
  password: string | null;
  apiKey: string | null;
  baseUrl: string;
  configuration: Record<string, unknown>;
}

export interface BuiltAuth {
  auth: AuthObject;
  /** Vault values, for execution-history redaction (by value, also when encoded). */
  secrets: string[];
}

/**
 * Builds the flow `auth` object for a connection row. It does not refresh: callers that are about to call the provider
 * use `getFreshAccessToken` first (or run `_revoke`, which wants the stored tokens as they are). The OAuth app is
 * looked up only for OAuth connectors; a missing app leaves clientId/clientSecret null rather than failing a flow
 * that does not need them.
 */
export async function buildAuthObject(ctx: TokenContext, orgId: string, instance: ConnectionRow): Promise<BuiltAuth> {
  if (instance.org_id !== orgId) throw new PlugboardError('NOT_FOUND', `No instance ${instance.id} in this organization.`);
  const def = await resolveConnector(ctx, orgId, instance.element_key);
  const configuration = JSON.parse(instance.configuration) as Record<string, unknown>;
  let client: OAuthClientCredentials | null = null;
  if (def.auth.type === 'oauth2_authorization_code' || def.auth.type === 'oauth2_client_credentials') {
    try {
      client = await resolveOAuthClient(ctx, orgId, def, instance);
    } catch (error) {
      if (!(error instanceof PlugboardError) || error.code !== 'NOT_FOUND') throw error;
    }
  }
  const auth: AuthObject = {
    accessToken: openSecret(ctx.vault, instance, 'access_token'),
    refreshToken: openSecret(ctx.vault, instance, 'refresh_token'),
    tokenType: instance.token_type,
    expiresAt: instance.expires_at,
    clientId: client?.clientId ?? null,
    clientSecret: client?.clientSecret ?? null,
    username: openSecret(ctx.vault, instance, 'username'),
    password: openSecret(ctx.vault, instance, 'password'),
    apiKey: openSecret(ctx.vault, instance, 'api_key'),
    baseUrl: baseUrlOf(def, configuration, instance.base_url),
    configuration,
  };
  const secrets = [auth.accessToken, auth.refreshToken, auth.clientSecret, auth.username, auth.password, auth.apiKey].filter((v): v is string => v !== null && v !== '');
  return { auth, secrets };
}


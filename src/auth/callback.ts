/**
 * Starting and finishing an OAuth authorization for a connection. `startAuthorization` creates the one-time state
 * (PKCE verifier sealed inside) and the provider URL; `finishAuthorization` is the hosted callback's work: consume
 * the state, check the provider's answer (`error`, RFC 9207 `iss`), exchange the code, then create the connection or
 * re-authenticate the one the flow was started for. Where the person is sent afterwards must be allow-listed: the
 * server's own origin, or an origin in PLUGBOARD_OAUTH_RETURN_ORIGINS (`config.oauthReturnOrigins`); an open
 * redirect would hand the outcome, and the person, to anyone (@see RFC 9700 §4.11).
 */
import { PlugboardError } from '../core/errors.ts';
import { createOAuthState, consumeOAuthState, OAUTH_STATE_TTL_MS, type OAuthState, type PendingInstance } from '../store/oauthStates.ts';
import { requireConnection, type ConnectionRow } from '../store/connections.ts';
import { buildAuthorizationUrl, createPkcePair, validateCallback, type OAuthClientCredentials } from './oauth.ts';
import { providerFromConnector } from './provider.ts';
import { resolveConnector, resolveOAuthClient } from './resolve.ts';
import { createInstance, hostedCallbackUrl, patchInstance, type InstanceContext, type InstanceView } from './instances.ts';

/** Origins the hosted callback may redirect to, besides the server's own. */
export function allowedReturnOrigins(config: ReturnConfig): Set<string> {
  return new Set([new URL(config.publicUrl).origin, ...config.oauthReturnOrigins]);
}

interface ReturnConfig {
  publicUrl: string;
  oauthReturnOrigins: readonly string[];
}

export function assertReturnUrlAllowed(config: ReturnConfig, returnUrl: string, path = 'query.returnUrl'): string {
  const allowed = allowedReturnOrigins(config);
  if (!URL.canParse(returnUrl) || !allowed.has(new URL(returnUrl).origin)) {
    throw new PlugboardError('VALIDATION_FAILED', 'The return URL is not on the allow-list of this server.', {
      details: [{ path, message: `expected a URL on one of ${[...allowed].join(', ')}; add its origin to PLUGBOARD_OAUTH_RETURN_ORIGINS to allow it` }],
    });
  }
  return new URL(returnUrl).href;
}

export interface StartInput {
  elementKey: string;
  /** Where the provider redirects; the hosted callback when absent. */
  callbackUrl?: string | undefined;
  /** Where the hosted callback sends the person afterwards. */
  returnUrl?: string | undefined;
  /** The caller's own opaque value, handed back to returnUrl. */
  clientState?: string | undefined;
  scope?: string | undefined;
  oauthClient?: OAuthClientCredentials | undefined;
  /** Re-authenticate this connection instead of creating one. */
  instanceId?: string | undefined;
  pending: PendingInstance;
}

export async function startAuthorization(ctx: InstanceContext, orgId: string, input: StartInput): Promise<{ oauthUrl: string; element: string }> {
  const def = await resolveConnector(ctx, orgId, input.elementKey);
  if (def.auth.type !== 'oauth2_authorization_code') {
    throw new PlugboardError('VALIDATION_FAILED', `The connector ${def.key} does not use the OAuth 2.0 authorization code flow (its auth type is ${def.auth.type}).`, {
      details: [{ path: 'params.key', message: 'expected a connector whose auth.type is oauth2_authorization_code; create other instances with POST /instances directly' }],
    });
  }
  let configuration = input.pending.configuration ?? {};
  let row: ConnectionRow | null = null;
  if (input.instanceId !== undefined) {
    row = await requireConnection(ctx.store.db, orgId, input.instanceId);
    if (row.element_key !== def.key) {
      throw new PlugboardError('VALIDATION_FAILED', `Instance ${row.id} belongs to the connector ${row.element_key}, not ${def.key}.`, { details: [{ path: 'query.instanceId', message: `expected an instance of ${def.key}` }] });
    }
    configuration = JSON.parse(row.configuration) as Record<string, unknown>;
  }
  const provider = providerFromConnector(def, configuration);
  // Re-authentication keeps the connection's own OAuth client when it has one.
  const client = input.oauthClient ?? (await resolveOAuthClient(ctx, orgId, def, row));
  const returnUrl = input.returnUrl === undefined ? null : assertReturnUrlAllowed(ctx.config, input.returnUrl);
  const redirectUri = input.callbackUrl ?? hostedCallbackUrl(ctx.config);
  const pkce = provider.pkce ? await createPkcePair() : null;
  const state = await createOAuthState(ctx.store.db, ctx.vault, orgId, {
    elementKey: def.key,
    codeVerifier: pkce?.verifier ?? null,
    redirectUri,
    returnUrl,
    clientState: input.clientState ?? null,
    instanceId: input.instanceId ?? null,
    pending: input.pending,
    clientId: input.oauthClient?.clientId ?? null,
    clientSecret: input.oauthClient?.clientSecret ?? null,
    ttlMs: OAUTH_STATE_TTL_MS,
  });
  const scope = input.scope;
  return { oauthUrl: buildAuthorizationUrl(provider, client.clientId, { redirectUri, state, codeChallenge: pkce?.challenge ?? null, scope }), element: def.key };
}

export type CallbackOutcome =
  | { ok: true; instance: InstanceView; reauthenticated: boolean; returnUrl: string | null; clientState: string | null }
  | { ok: false; error: PlugboardError; returnUrl: string | null; clientState: string | null };

/**
 * The hosted callback. The organization is the state's, never the request's. Failures after the state was found are
 * reported to its return URL (with `error`), earlier ones only on the result page: an unknown state has no trusted
 * return URL.
 */
export async function finishAuthorization(ctx: InstanceContext, query: Record<string, string>): Promise<CallbackOutcome> {
  const stateValue = query.state;
  if (stateValue === undefined || stateValue === '') {
    return { ok: false, error: new PlugboardError('OAUTH_STATE_INVALID', 'The callback has no state parameter; start again with GET /elements/{key}/oauth/url.'), returnUrl: null, clientState: null };
  }
  let state: OAuthState & { orgId: string };
  try {
    state = await consumeOAuthState(ctx.store.db, ctx.vault, null, stateValue);
  } catch (error) {
    if (error instanceof PlugboardError) return { ok: false, error, returnUrl: null, clientState: null };
    throw error;
  }
  const where = { returnUrl: state.returnUrl, clientState: state.clientState };
  try {
    const def = await resolveConnector(ctx, state.orgId, state.elementKey);
    const existing = state.instanceId === null ? null : await requireConnection(ctx.store.db, state.orgId, state.instanceId);
    const configuration = existing === null ? (state.pending.configuration ?? {}) : JSON.parse(existing.configuration) as Record<string, unknown>;
    const provider = providerFromConnector(def, configuration);
    const client = state.clientId !== null && state.clientSecret !== null ? { clientId: state.clientId, clientSecret: state.clientSecret } : await resolveOAuthClient(ctx, state.orgId, def, existing);
    const code = validateCallback(provider, client.clientId, new URLSearchParams(query), stateValue);
    const providerData = { code };
    if (state.instanceId !== null) {
      const instance = await patchInstance(ctx, state.orgId, state.instanceId, {}, { providerData }, state);
      return { ok: true, instance, reauthenticated: true, ...where };
    }
    const instance = await createInstance(ctx, state.orgId, {
      elementKey: def.key,
      name: state.pending.name ?? `${def.name} connection`,
      tags: state.pending.tags ?? [],
      externalUserId: state.pending.externalUserId ?? null,
      configuration,
      baseUrl: null,
      providerData,
    }, state);
    return { ok: true, instance, reauthenticated: false, ...where };
  } catch (error) {
    if (error instanceof PlugboardError) return { ok: false, error, ...where };
    throw error;
  }
}

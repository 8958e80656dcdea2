/**
 * Creating and re-authenticating connections, shared by `POST /instances`, `PATCH /instances/{id}` and the hosted
 * OAuth callback. One connection is created in one of five ways, chosen by what the request carries: an OAuth code
 * (`providerData.code`), client credentials (the connector's grant, with the organization's app or a per-connection
 * client), basic credentials, an API key (custom fields), or tokens already held elsewhere (import). Re-authentication
 * keeps the id, name, tags and configuration and replaces only the credentials (seed 002: PATCH /instances with a new
 * code). Secrets are sealed on write and never leave through the instance view; the instance token is returned only
 * once, when the connection is created.
 */
import { PlugboardError } from '../core/errors.ts';
import { initialState, transition } from '../core/connection.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import { hashSecret } from '../crypto/secret-hash.ts';
import { newId, newLookup, newSecret } from '../crypto/random.ts';
import {
  insertConnection, requireConnection, setTags, stateColumns, stateOf, tagsOf, updateConnection,
  type ConnectionRow, type ConnectionSecrets, type SecretSealer,
} from '../store/connections.ts';
import { consumeOAuthState, type OAuthState } from '../store/oauthStates.ts';
import { recordEvent } from '../store/events.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { clientCredentialsGrant, exchangeCode, type OAuthClientCredentials, type TokenSet } from './oauth.ts';
import { providerFromConnector, fillTemplate } from './provider.ts';
import { resolveConnector, resolveOAuthClient } from './resolve.ts';
import { withConnectionLock } from './lock.ts';
import { authpingConnection } from './authping.ts';

export interface InstanceContext {
  store: { db: Kysely<Database> };
  vault: SecretSealer;
  config: { publicUrl: string; oauthReturnOrigins: readonly string[] };
}

/** Credentials a request may carry; at most one kind is used, checked against the connector's auth type. */
export interface CredentialInput {
  providerData?: { code: string; state?: string | undefined; callbackUrl?: string | undefined } | undefined;
  credentials?: { username?: string | undefined; password?: string | undefined; apiKey?: string | undefined } | undefined;
  tokens?: { accessToken: string; refreshToken?: string | undefined; tokenType?: string | undefined; expiresAt?: string | undefined; expiresIn?: number | undefined; scope?: string | undefined } | undefined;
  /** A per-connection OAuth client (Open Connectors `apiKey`/`apiSecret`). */
  oauthClient?: OAuthClientCredentials | undefined;
  scope?: string | undefined;
}

export interface CreateInstanceInput extends CredentialInput {
  elementKey: string;
  name: string;
  tags: string[];
  externalUserId: string | null;
  configuration: Record<string, unknown>;
  baseUrl: string | null;
}

export interface InstanceView {
  id: string;
  name: string;
  element: { key: string; name: string };
  tags: string[];
  externalUserId: string | null;
  status: string;
  valid: boolean;
  disabled: boolean;
  authType: string;
  createdDate: string;
  updatedDate: string;
  lastAuthenticatedAt: string | null;
  expiresAt: string | null;
  configuration: Record<string, unknown>;
  baseUrl: string | null;
  /** Only in the response that created the connection: the `Element <token>` credential, shown once. */
  token?: string;
}

/** The redirect URI of the hosted callback, the one registered with providers for this server. */
export function hostedCallbackUrl(config: { publicUrl: string }): string {
  return `${config.publicUrl}/oauth/callback`;
}

export function toInstanceView(row: ConnectionRow, tags: string[], connectorName: string): InstanceView {
  return {
    id: row.id,
    name: row.name,
    element: { key: row.element_key, name: connectorName },
    tags,
    externalUserId: row.external_user_id,
    status: row.status,
    valid: row.valid === 1,
    disabled: row.disabled === 1,
    authType: row.auth_type,
    createdDate: row.created_at,
    updatedDate: row.updated_at,
    lastAuthenticatedAt: row.last_authenticated_at,
    expiresAt: row.expires_at,
    configuration: JSON.parse(row.configuration) as Record<string, unknown>,
    baseUrl: row.base_url,
  };
}

export async function instanceViews(ctx: InstanceContext, orgId: string, rows: ConnectionRow[]): Promise<InstanceView[]> {
  const tags = await tagsOf(ctx.store.db, orgId, rows.map((r) => r.id));
  const names = new Map<string, string>();
  for (const row of rows) {
    if (names.has(row.element_key)) continue;
    try {
      names.set(row.element_key, (await resolveConnector(ctx, orgId, row.element_key)).name);
    } catch (error) {
      // A connection outlives its connector definition (a private connector removed): show the key as its name.
      if (!(error instanceof PlugboardError) || error.code !== 'NOT_FOUND') throw error;
      names.set(row.element_key, row.element_key);
    }
  }
  return rows.map((row) => toInstanceView(row, tags.get(row.id) ?? [], names.get(row.element_key) ?? row.element_key));
}

function refuse(path: string, message: string, summary: string): PlugboardError {
  return new PlugboardError('VALIDATION_FAILED', summary, { details: [{ path, message }] });
}

/** Checks the configuration against the connector's declared fields (required ones present, defaults applied). */
export function checkConfiguration(def: ConnectorDefinition, configuration: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...configuration };
  const problems = [];
  for (const field of def.configuration) {
    const value = out[field.key];
    if (value === undefined || value === null || value === '') {
      if (field.default !== undefined) out[field.key] = field.default;
      else if (field.required) problems.push({ path: `body.configuration.${field.key}`, message: `expected ${field.label}${field.description ? ` (${field.description})` : ''}` });
    }
  }
  if (problems.length > 0) throw new PlugboardError('VALIDATION_FAILED', `The connector ${def.key} needs configuration values: ${problems.map((p) => p.path.slice('body.configuration.'.length)).join(', ')}.`, { details: problems });
  return out;
}

interface Credentials {
  secrets: ConnectionSecrets;
  tokenType: string | null;
  expiresAt: string | null;
  scope: string | null;
  clientId: string | null;
}

function tokensFromImport(tokens: NonNullable<CredentialInput['tokens']>, now: number): TokenSet {
  let expiresAt: string | null = null;
  if (tokens.expiresAt !== undefined) {
    const at = Date.parse(tokens.expiresAt);
    if (!Number.isFinite(at)) throw refuse('body.tokens.expiresAt', 'expected an ISO-8601 instant such as 2026-01-01T00:00:00Z', 'The imported expiry is not a date.');
    expiresAt = new Date(at).toISOString();
  } else if (tokens.expiresIn !== undefined) {
    expiresAt = new Date(now + tokens.expiresIn * 1000).toISOString();
  }
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? null, tokenType: (tokens.tokenType ?? 'bearer').toLowerCase(), expiresAt, scope: tokens.scope ?? null };
}

function fromTokens(tokens: TokenSet, client: OAuthClientCredentials | null, ownClient: boolean): Credentials {
  return {
    secrets: { access_token: tokens.accessToken, refresh_token: tokens.refreshToken, ...(ownClient && client !== null ? { client_secret: client.clientSecret } : {}) },
    tokenType: tokens.tokenType,
    expiresAt: tokens.expiresAt,
    scope: tokens.scope,
    clientId: ownClient && client !== null ? client.clientId : null,
  };
}

/**
 * Obtains credentials for a connector from what the request carries. `state` is the consumed OAuth state when the
 * code came through it (hosted callback, or providerData.state); it supplies the PKCE verifier and redirect URI.
 */
async function obtainCredentials(ctx: InstanceContext, orgId: string, def: ConnectorDefinition, configuration: Record<string, unknown>, input: CredentialInput, state: OAuthState | null, existing: ConnectionRow | null): Promise<Credentials> {
  const auth = def.auth;
  const given = [input.providerData !== undefined, input.credentials !== undefined, input.tokens !== undefined].filter(Boolean).length;
  if (given > 1) throw refuse('body', 'expected only one of providerData, credentials or tokens', 'The request carries more than one kind of credentials.');

  if (auth.type === 'basic' || auth.type === 'custom') {
    if (input.providerData !== undefined || input.tokens !== undefined) {
      throw refuse(input.providerData !== undefined ? 'body.providerData' : 'body.tokens', `expected credentials: the connector ${def.key} uses ${auth.type} auth, not OAuth`, `The connector ${def.key} takes ${auth.type === 'basic' ? 'a username and password' : 'an API key'}, not an OAuth code or tokens.`);
    }
    const creds = input.credentials;
    if (auth.type === 'basic') {
      if (creds?.username === undefined || creds.password === undefined || creds.username === '') {
        throw refuse('body.credentials', 'expected { username, password }', `The connector ${def.key} needs a username and password in credentials.`);
      }
      return { secrets: { username: creds.username, password: creds.password }, tokenType: null, expiresAt: null, scope: null, clientId: null };
    }
    if (creds?.apiKey === undefined || creds.apiKey === '') {
      throw refuse('body.credentials.apiKey', `expected the ${auth.label}`, `The connector ${def.key} needs ${auth.label} in credentials.apiKey.`);
    }
    return { secrets: { api_key: creds.apiKey }, tokenType: null, expiresAt: null, scope: null, clientId: null };
  }

  if (input.credentials !== undefined) throw refuse('body.credentials', `expected providerData.code or tokens: the connector ${def.key} uses OAuth 2.0`, `The connector ${def.key} uses OAuth 2.0; credentials do not apply.`);
  const ownClient = input.oauthClient !== undefined || state?.clientId != null;
  const perRequest = input.oauthClient ?? (state?.clientId != null && state.clientSecret !== null ? { clientId: state.clientId, clientSecret: state.clientSecret } : undefined);

  if (input.tokens !== undefined) {
    // Import: tokens obtained elsewhere (migration from another platform). No provider call is made.
    const client = perRequest ?? null;
    return fromTokens(tokensFromImport(input.tokens, Date.now()), client, client !== null);
  }

  const provider = providerFromConnector(def, configuration);
  const client = perRequest ?? (await resolveOAuthClient(ctx, orgId, def, existing));
  const keepOwn = perRequest !== undefined || (existing !== null && existing.client_id !== null);

  if (auth.type === 'oauth2_client_credentials') {
    if (input.providerData !== undefined) throw refuse('body.providerData', 'expected no code: the connector uses the client credentials grant', `The connector ${def.key} uses the client credentials grant; no authorization code applies.`);
    return fromTokens(await clientCredentialsGrant(provider, client, input.scope), client, keepOwn);
  }

  const data = input.providerData;
  if (data === undefined || data.code === '') throw refuse('body.providerData.code', 'expected the code the provider sent to the callback URL', `The connector ${def.key} uses OAuth 2.0: pass providerData.code (from GET /elements/${def.key}/oauth/url), or tokens to import.`);
  if (state === null && provider.pkce) {
    throw refuse('body.providerData.state', 'expected the state the provider sent back with the code', `The connector ${def.key} uses PKCE: pass providerData.state too, so the code verifier of that authorization can be found.`);
  }
  const redirectUri = state?.redirectUri ?? data.callbackUrl ?? hostedCallbackUrl(ctx.config);
  const tokens = await exchangeCode(provider, client, { code: data.code, redirectUri, codeVerifier: state?.codeVerifier ?? null });
  return fromTokens(tokens, client, keepOwn);
}

function issueInstanceToken(): { value: string; lookup: string; hash: string } {
  const lookup = newLookup();
  const value = `pbe_${lookup}_${newSecret()}`;
  return { value, lookup, hash: hashSecret(value) };
}

const INSTANCE_TOKEN = /^pbe_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export function parseInstanceToken(token: string): { lookup: string } | null {
  const match = INSTANCE_TOKEN.exec(token);
  return match === null ? null : { lookup: match[1] };
}

async function consumeIfGiven(ctx: InstanceContext, orgId: string, def: ConnectorDefinition, input: CredentialInput, instanceId: string | null): Promise<OAuthState | null> {
  const given = input.providerData?.state;
  if (given === undefined) return null;
  const state = await consumeOAuthState(ctx.store.db, ctx.vault, orgId, given);
  if (state.elementKey !== def.key) {
    throw new PlugboardError('OAUTH_STATE_INVALID', `The OAuth state was issued for the connector ${state.elementKey}, not ${def.key}.`, { details: [{ path: 'body.providerData.state', message: `expected a state from GET /elements/${def.key}/oauth/url` }] });
  }
  if (instanceId !== null && state.instanceId !== null && state.instanceId !== instanceId) {
    throw new PlugboardError('OAUTH_STATE_INVALID', `The OAuth state was issued to re-authenticate instance ${state.instanceId}, not ${instanceId}.`, { details: [{ path: 'body.providerData.state', message: 'expected the state of this instance\'s authorization' }] });
  }
  return state;
}

/** Creates a connection. `state` is given by the hosted callback (already consumed). */
export async function createInstance(ctx: InstanceContext, orgId: string, input: CreateInstanceInput, state: OAuthState | null = null): Promise<InstanceView> {
  const def = await resolveConnector(ctx, orgId, input.elementKey);
  const configuration = checkConfiguration(def, input.configuration);
  if (input.baseUrl !== null) fillTemplate(input.baseUrl, configuration, 'baseUrl override');
  const consumed = state ?? (await consumeIfGiven(ctx, orgId, def, input, null));
  const credentials = await obtainCredentials(ctx, orgId, def, configuration, input, consumed, null);
  const id = newId();
  const token = issueInstanceToken();
  const now = new Date().toISOString();
  const row = await insertConnection(ctx.store.db, ctx.vault, orgId, {
    id,
    elementKey: def.key,
    name: input.name,
    externalUserId: input.externalUserId,
    configuration,
    baseUrl: input.baseUrl,
    authType: def.auth.type,
    state: initialState(true),
    tokenLookup: token.lookup,
    tokenHash: token.hash,
    tokenType: credentials.tokenType,
    expiresAt: credentials.expiresAt,
    scope: credentials.scope,
    clientId: credentials.clientId,
    tags: input.tags,
    lastAuthenticatedAt: now,
    now,
  }, credentials.secrets);
  await recordEvent(ctx.store.db, orgId, { type: 'instance.created', instanceId: id, data: { element: def.key, authType: def.auth.type, ...(input.tokens !== undefined ? { imported: true } : {}) } });
  await authpingConnection(ctx, def, row);
  const [view] = await instanceViews(ctx, orgId, [await requireConnection(ctx.store.db, orgId, id)]);
  return { ...view, token: token.value };
}

export interface InstancePatch {
  name?: string | undefined;
  tags?: string[] | undefined;
  configuration?: Record<string, unknown> | undefined;
  externalUserId?: string | null | undefined;
}

/**
 * Updates name, tags, configuration; with credentials it also re-authenticates in place (same id, name, tags and
 * configuration unless the patch changes them; new tokens; valid again; `instance.reauthenticated`). The credential
 * write happens under the connection lock so it cannot interleave with a refresh or a revocation.
 */
export async function patchInstance(ctx: InstanceContext, orgId: string, instanceId: string, patch: InstancePatch, input: CredentialInput, state: OAuthState | null = null): Promise<InstanceView> {
  const reauth = input.providerData !== undefined || input.credentials !== undefined || input.tokens !== undefined || input.oauthClient !== undefined || state !== null;
  const before = await requireConnection(ctx.store.db, orgId, instanceId);
  const now = new Date().toISOString();
  const changed: string[] = [];
  if (patch.name !== undefined && patch.name !== before.name) changed.push('name');
  if (patch.configuration !== undefined) changed.push('configuration');
  if (patch.externalUserId !== undefined && patch.externalUserId !== before.external_user_id) changed.push('externalUserId');
  let configuration = JSON.parse(before.configuration) as Record<string, unknown>;
  if (patch.configuration !== undefined || reauth) {
    const def = await resolveConnector(ctx, orgId, before.element_key);
    if (patch.configuration !== undefined) configuration = checkConfiguration(def, patch.configuration);
    if (reauth) {
      const consumed = state ?? (await consumeIfGiven(ctx, orgId, def, input, instanceId));
      await withConnectionLock(ctx, orgId, instanceId, async () => {
        const current = await requireConnection(ctx.store.db, orgId, instanceId);
        const credentials = await obtainCredentials(ctx, orgId, def, configuration, input, consumed, current);
        const change = transition(stateOf(current), { kind: 'reauthenticate' });
        // Old secrets of another kind (say an API key replaced by OAuth tokens after a connector change) are cleared.
        const cleared: ConnectionSecrets = { access_token: null, refresh_token: null, username: null, password: null, api_key: null };
        const keepClient = credentials.clientId === null ? {} : { client_secret: credentials.secrets.client_secret ?? null };
        await updateConnection(ctx.store.db, ctx.vault, orgId, instanceId, {
          ...stateColumns(change.state),
          token_type: credentials.tokenType,
          expires_at: credentials.expiresAt,
          scope: credentials.scope,
          ...(credentials.clientId === null ? {} : { client_id: credentials.clientId }),
          refresh_failures: 0,
          last_authenticated_at: now,
        }, { ...cleared, ...credentials.secrets, ...keepClient }, now);
        await recordEvent(ctx.store.db, orgId, { type: 'instance.reauthenticated', instanceId, data: change.data });
        await authpingConnection(ctx, def, await requireConnection(ctx.store.db, orgId, instanceId));
      });
    }
  }
  if (patch.tags !== undefined) {
    changed.push('tags');
    await setTags(ctx.store.db, orgId, instanceId, patch.tags);
  }
  if (changed.length > 0) {
    await updateConnection(ctx.store.db, ctx.vault, orgId, instanceId, {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.configuration === undefined ? {} : { configuration: JSON.stringify(configuration) }),
      ...(patch.externalUserId === undefined ? {} : { external_user_id: patch.externalUserId }),
    }, {}, now);
    await recordEvent(ctx.store.db, orgId, { type: 'instance.updated', instanceId, data: { changed } });
  }
  const row = await requireConnection(ctx.store.db, orgId, instanceId);
  const [view] = await instanceViews(ctx, orgId, [row]);
  return view;
}

/** Maps the request fields shared by POST and PATCH /instances to a credential input. */
export function credentialInputFrom(body: {
  providerData?: CredentialInput['providerData'];
  credentials?: CredentialInput['credentials'];
  tokens?: CredentialInput['tokens'];
  apiKey?: string | undefined;
  apiSecret?: string | undefined;
  scope?: string | undefined;
}): CredentialInput {
  if ((body.apiKey === undefined) !== (body.apiSecret === undefined)) {
    throw refuse(body.apiKey === undefined ? 'body.apiKey' : 'body.apiSecret', 'expected apiKey and apiSecret together (the OAuth client id and secret)', 'apiKey and apiSecret go together.');
  }
  const input: CredentialInput = {};
  if (body.providerData !== undefined) input.providerData = body.providerData;
  if (body.credentials !== undefined) input.credentials = body.credentials;
  if (body.tokens !== undefined) input.tokens = body.tokens;
  if (body.apiKey !== undefined && body.apiSecret !== undefined) input.oauthClient = { clientId: body.apiKey, clientSecret: body.apiSecret };
  if (body.scope !== undefined) input.scope = body.scope;
  return input;
}

/**
 * Replaces the instance token (POST /instances/{id}/token). The token is stored only as a hash, so a lost one cannot be
 * shown again; a new one is issued instead and the old one stops working at once (the resolver matches the stored
 * lookup and hash, nothing cached). Works in every status: rotating after a leak must not wait for re-authentication.
 * The event records who rotated it, never the value.
 */
export async function rotateInstanceToken(ctx: InstanceContext, orgId: string, instanceId: string, caller: { userId: string; keyId: string | null; requestId: string }): Promise<{ id: string; token: string; rotatedAt: string }> {
  await requireConnection(ctx.store.db, orgId, instanceId);
  const token = issueInstanceToken();
  const rotatedAt = new Date().toISOString();
  await updateConnection(ctx.store.db, ctx.vault, orgId, instanceId, { token_lookup: token.lookup, token_hash: token.hash }, {}, rotatedAt);
  await recordEvent(ctx.store.db, orgId, { type: 'instance.token_rotated', instanceId, data: { caller }, occurredAt: rotatedAt });
  return { id: instanceId, token: token.value, rotatedAt };
}

/** Enables or disables a connection (PUT / DELETE /instances/{id}/enabled); idempotent, an event only on change. */
export async function setInstanceEnabled(ctx: InstanceContext, orgId: string, instanceId: string, enabled: boolean): Promise<InstanceView> {
  const row = await requireConnection(ctx.store.db, orgId, instanceId);
  const change = transition(stateOf(row), { kind: enabled ? 'enable' : 'disable' });
  if (change.event !== null) {
    await updateConnection(ctx.store.db, ctx.vault, orgId, instanceId, stateColumns(change.state));
    await recordEvent(ctx.store.db, orgId, { type: change.event, instanceId, data: change.data });
  }
  const [view] = await instanceViews(ctx, orgId, [await requireConnection(ctx.store.db, orgId, instanceId)]);
  return view;
}

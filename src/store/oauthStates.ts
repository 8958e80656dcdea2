/**
 * One-time OAuth states. The state sent to the provider is a 256-bit random value; only its SHA-256 is stored, with
 * the organization, connector, redirect URI, the PKCE verifier (sealed), where to send the person afterwards, the
 * instance being re-authenticated and the pending instance fields. `consumeOAuthState` marks a row used in the same
 * statement that reads it (an UPDATE guarded by `used_at IS NULL`), so two concurrent callbacks with one state cannot
 * both succeed (@see RFC 6749 §10.12, RFC 9700 §4.7).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { PlugboardError } from '../core/errors.ts';
import { hashSecret } from '../crypto/secret-hash.ts';
import { newSecret } from '../crypto/random.ts';
import type { SecretSealer } from './connections.ts';

export interface OAuthStateTable {
  state_hash: string;
  org_id: string;
  element_key: string;
  code_verifier: string | null;
  redirect_uri: string;
  return_url: string | null;
  client_state: string | null;
  instance_id: string | null;
  /** JSON: the instance fields to create with (name, tags, externalUserId, configuration, scope). */
  pending: string;
  client_id: string | null;
  client_secret: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface OAuthStatesTables {
  oauth_states: OAuthStateTable;
}

export interface PendingInstance {
  name?: string | undefined;
  tags?: string[] | undefined;
  externalUserId?: string | undefined;
  configuration?: Record<string, unknown> | undefined;
}

export interface OAuthState {
  elementKey: string;
  codeVerifier: string | null;
  redirectUri: string;
  returnUrl: string | null;
  clientState: string | null;
  instanceId: string | null;
  pending: PendingInstance;
  clientId: string | null;
  clientSecret: string | null;
}

/** A state to store: the state itself and how long it stays valid. */
export interface NewOAuthState extends OAuthState {
  ttlMs: number;
  now?: number;
}

/** Default lifetime of a state: long enough to log in and consent, short enough that a leaked URL goes stale. */
export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;

function binding(orgId: string, stateHash: string, field: string) {
  return { orgId, table: 'oauth_states', rowId: stateHash, field };
}

/** Creates a state and returns the value to send to the provider (shown nowhere else and never stored). */
export async function createOAuthState(db: Kysely<Database>, vault: SecretSealer, orgId: string, input: NewOAuthState): Promise<string> {
  const state = newSecret();
  const stateHash = hashSecret(state);
  const now = input.now ?? Date.now();
  await db.insertInto('oauth_states').values({
    state_hash: stateHash,
    org_id: orgId,
    element_key: input.elementKey,
    code_verifier: input.codeVerifier === null ? null : vault.seal(input.codeVerifier, binding(orgId, stateHash, 'code_verifier')),
    redirect_uri: input.redirectUri,
    return_url: input.returnUrl,
    client_state: input.clientState,
    instance_id: input.instanceId,
    pending: JSON.stringify(input.pending),
    client_id: input.clientId,
    client_secret: input.clientSecret === null ? null : vault.seal(input.clientSecret, binding(orgId, stateHash, 'client_secret')),
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + input.ttlMs).toISOString(),
    used_at: null,
  }).execute();
  // Expired rows are useless; removing them here keeps the table small without a separate sweeper.
  await db.deleteFrom('oauth_states').where('expires_at', '<', new Date(now - input.ttlMs).toISOString()).execute();
  return state;
}

function invalid(reason: string): PlugboardError {
  return new PlugboardError('OAUTH_STATE_INVALID', `The OAuth state ${reason}; start again with GET /elements/{key}/oauth/url.`, { details: [{ path: 'query.state', message: `the state ${reason}` }] });
}

/**
 * Consumes a state exactly once. `orgId` null means the hosted callback, where the organization is learnt from the
 * state itself; otherwise the state must belong to that organization (another organization's state is "unknown").
 * Read the organization from the returned value, never from the request.
 */
export async function consumeOAuthState(db: Kysely<Database>, vault: SecretSealer, orgId: string | null, state: string, now = Date.now()): Promise<OAuthState & { orgId: string }> {
  if (state.length < 20 || state.length > 200) throw invalid('is unknown');
  const stateHash = hashSecret(state);
  let lookup = db.selectFrom('oauth_states').selectAll().where('state_hash', '=', stateHash);
  if (orgId !== null) lookup = lookup.where('org_id', '=', orgId);
  const row = await lookup.executeTakeFirst();
  if (row === undefined) throw invalid('is unknown');
  if (row.used_at !== null) throw invalid('was already used');
  const nowIso = new Date(now).toISOString();
  if (row.expires_at <= nowIso) throw invalid('has expired');
  const claimed = await db.updateTable('oauth_states').set({ used_at: nowIso }).where('state_hash', '=', stateHash).where('used_at', 'is', null).executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw invalid('was already used');
  return {
    orgId: row.org_id,
    elementKey: row.element_key,
    codeVerifier: row.code_verifier === null ? null : vault.open(row.code_verifier, binding(row.org_id, stateHash, 'code_verifier')),
    redirectUri: row.redirect_uri,
    returnUrl: row.return_url,
    clientState: row.client_state,
    instanceId: row.instance_id,
    pending: JSON.parse(row.pending) as PendingInstance,
    clientId: row.client_id,
    clientSecret: row.client_secret === null ? null : vault.open(row.client_secret, binding(row.org_id, stateHash, 'client_secret')),
  };
}

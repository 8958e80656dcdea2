/**
 * Turns an `Authorization` header into a Principal. Three forms are accepted:
 * `Bearer <api key>`; `User <userSecret>, Organization <orgSecret>` (the SAP Open Connectors form); and
 * `User <userSecret>, Element <instanceToken>` for calls scoped to one connection, resolved by the hook the
 * connections area installs. Every failure is the same 401 with no hint of which part was wrong, and secrets are
 * compared as hashes in constant time.
 */
import { PlugboardError } from '../core/errors.ts';
import { permissionsOfRole } from '../core/permissions.ts';
import { parseCredential, secretMatches } from '../crypto/secret-hash.ts';
import { cachedApiKeyCredential, findApiKeyCredentialCached, touchApiKey, type ApiKey } from '../store/api-keys.ts';
import { findOrganizationCredential, findUserCredential } from '../store/organizations.ts';
import type { AppContext } from '../context.ts';
import type { AuthMode, Principal } from './route.ts';

export type ParsedAuthorization =
  | { kind: 'bearer'; apiKey: string }
  | { kind: 'user-organization'; userSecret: string; orgSecret: string }
  | { kind: 'user-element'; userSecret: string; instanceToken: string };

/** Parses the header; null when it is absent or has none of the accepted forms. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | null {
  if (header === undefined) return null;
  const value = header.trim();
  const bearer = /^Bearer\s+(\S+)$/i.exec(value);
  if (bearer !== null) return { kind: 'bearer', apiKey: bearer[1] };
  const pair = /^User\s+(\S+?)\s*,\s*(Organization|Element)\s+(\S+)$/i.exec(value);
  if (pair === null) return null;
  return pair[2].toLowerCase() === 'organization'
    ? { kind: 'user-organization', userSecret: pair[1], orgSecret: pair[3] }
    : { kind: 'user-element', userSecret: pair[1], instanceToken: pair[3] };
}

function unauthenticated(mode: AuthMode): PlugboardError {
  const expected = mode === 'element'
    ? 'Authorization: User <userSecret>, Element <instanceToken>'
    : 'Authorization: Bearer <api key>, or Authorization: User <userSecret>, Organization <orgSecret>';
  return new PlugboardError('UNAUTHENTICATED', `Missing, malformed, unknown or revoked credentials; send ${expected}`, {
    headers: { 'www-authenticate': 'Bearer realm="plugboard"' },
  });
}

/** Writes `last_used_at` at most once a minute per key, so authentication stays a single read. */
const TOUCH_INTERVAL_MS = 60_000;
const lastTouched = new WeakMap<AppContext, Map<string, number>>();

function touchLater(ctx: AppContext, orgId: string, apiKeyId: string): void {
  let seen = lastTouched.get(ctx);
  if (seen === undefined) {
    seen = new Map();
    lastTouched.set(ctx, seen);
  }
  const now = Date.now();
  if (now - (seen.get(apiKeyId) ?? 0) < TOUCH_INTERVAL_MS) return;
  seen.set(apiKeyId, now);
  touchApiKey(ctx.store.db, orgId, apiKeyId, new Date(now)).catch((error: unknown) => ctx.log.warn({ err: error }, 'could not record API key use'));
}

async function userOf(ctx: AppContext, userSecret: string): Promise<{ id: string; orgId: string; role: string } | null> {
  const parsed = parseCredential(userSecret, 'pbu');
  if (parsed === null) return null;
  const user = await findUserCredential(ctx.store.db, parsed.lookup);
  if (user === undefined || !secretMatches(userSecret, user.secretHash)) return null;
  return user;
}

/** The caller behind a presented API key and the key its lookup found; null when unknown, revoked or not matching. */
function apiKeyPrincipal(ctx: AppContext, presented: string, key: (ApiKey & { secretHash: string }) | undefined): Principal | null {
  if (key === undefined || key.revokedAt !== null || !secretMatches(presented, key.secretHash)) return null;
  touchLater(ctx, key.orgId, key.id);
  return { orgId: key.orgId, userId: key.userId, apiKeyId: key.id, permissions: key.permissions };
}

/**
 * The caller of an `org` route, resolved synchronously when it can be: a Bearer API key whose entry is in the
 * per-process key cache and still valid (the presented secret is hashed and compared in constant time as always).
 * Null otherwise, which is not a verdict: `authenticate` then decides, reading the store when it must. The hot path
 * of API reads, where a promise and a deferred continuation per request are a measurable share of the CPU.
 */
export function authenticateNow(ctx: AppContext, header: string | undefined, mode: Exclude<AuthMode, 'none'>, stamp?: string): Principal | null {
  if (mode !== 'org') return null;
  const parsed = parseAuthorization(header);
  if (parsed === null || parsed.kind !== 'bearer') return null;
  const lookup = parseCredential(parsed.apiKey, 'pb');
  if (lookup === null) return null;
  const key = cachedApiKeyCredential(ctx.store.db, lookup.lookup, Date.now(), stamp);
  return key === undefined ? null : apiKeyPrincipal(ctx, parsed.apiKey, key);
}

/** Resolves the caller for a route of the given auth mode; throws UNAUTHENTICATED (401) on any failure. */
export async function authenticate(ctx: AppContext, header: string | undefined, mode: Exclude<AuthMode, 'none'>): Promise<Principal> {
  const parsed = parseAuthorization(header);
  if (parsed === null) throw unauthenticated(mode);

  if (mode === 'element') {
    if (parsed.kind !== 'user-element') throw unauthenticated(mode);
    const user = await userOf(ctx, parsed.userSecret);
    const resolver = ctx.hooks.resolveInstanceToken;
    if (user === null || resolver === null) throw unauthenticated(mode);
    const instance = await resolver(ctx, { orgId: user.orgId, userId: user.id, instanceToken: parsed.instanceToken });
    if (instance === null) throw unauthenticated(mode);
    return { orgId: user.orgId, userId: user.id, apiKeyId: null, permissions: permissionsOfRole(user.role), instanceId: instance.instanceId };
  }

  if (parsed.kind === 'bearer') {
    const lookup = parseCredential(parsed.apiKey, 'pb');
    if (lookup === null) throw unauthenticated(mode);
    const principal = apiKeyPrincipal(ctx, parsed.apiKey, await findApiKeyCredentialCached(ctx.store.db, lookup.lookup));
    if (principal === null) throw unauthenticated(mode);
    return principal;
  }

  if (parsed.kind === 'user-organization') {
    const orgLookup = parseCredential(parsed.orgSecret, 'pbo');
    const user = await userOf(ctx, parsed.userSecret);
    if (user === null || orgLookup === null) throw unauthenticated(mode);
    const org = await findOrganizationCredential(ctx.store.db, orgLookup.lookup);
    // The user must belong to the organization whose secret is presented.
    if (org === undefined || org.id !== user.orgId || !secretMatches(parsed.orgSecret, org.secretHash)) throw unauthenticated(mode);
    return { orgId: org.id, userId: user.id, apiKeyId: null, permissions: permissionsOfRole(user.role) };
  }
  throw unauthenticated(mode);
}

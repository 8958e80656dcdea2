/**
 * The sandbox's in-memory authorization state: clients, users, pending consent requests, authorization codes, tokens
 * and token families. Every lookup is one Map access so revocation and introspection stay cheap under benchmark load.
 * Time comes from `now()`, which tests can move forward (`advanceTime`) to expire tokens without sleeping.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_REFRESH_TOKEN_TTL,
  type RevokeScope,
  type SandboxClient,
  type SandboxUser,
  type TokenFamily,
  type TokenKind,
  type TokenLookup,
  type TokenRecord,
  type TokenState,
} from './model.ts';
import { AppKeys } from './app-jwt.ts';

export interface AuthorizationCode {
  code: string;
  clientId: string;
  userId: string;
  redirectUri: string | null;
  scope: string;
  codeChallenge: string | null;
  expiresAt: number;
  /** Set once exchanged; a second exchange revokes what the first one issued (RFC 6749 §4.1.2). */
  usedFamilyId: string | null;
  used: boolean;
}

export interface PendingAuthorization {
  id: string;
  clientId: string;
  redirectUri: string;
  redirectUriGiven: boolean;
  scope: string;
  state: string | null;
  codeChallenge: string | null;
  expiresAt: number;
}

export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in?: number;
  refresh_token?: string;
  scope: string;
}

export interface Lifetimes {
  accessTokenTtl: number;
  refreshTokenTtl: number;
}

/** Authorization codes live one minute (RFC 6749 §4.1.2 recommends at most ten). */
const CODE_TTL_MS = 60_000;
const PENDING_TTL_MS = 10 * 60_000;

function authorizationKey(clientId: string, userId: string | null): string {
  return `${clientId}\u0000${userId ?? ''}`;
}

export function randomToken(prefix: string): string {
  return prefix + randomBytes(24).toString('base64url');
}

/** Digests of expected secrets, computed once per distinct secret string. */
const expectedDigests = new Map<string, Buffer>();

/** Compare secrets in constant time: hashing first makes the lengths equal. */
export function secretEquals(given: string, expected: string): boolean {
  let b = expectedDigests.get(expected);
  if (!b) {
    b = createHash('sha256').update(expected).digest();
    if (expectedDigests.size > 10_000) expectedDigests.clear();
    expectedDigests.set(expected, b);
  }
  return timingSafeEqual(createHash('sha256').update(given).digest(), b);
}

export class ProviderState {
  readonly clients = new Map<string, SandboxClient>();
  readonly users = new Map<string, SandboxUser>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly families = new Map<string, TokenFamily>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly pending = new Map<string, PendingAuthorization>();
  /** RSA key pairs of clients that sign app JWTs (the `app-jwt` revoke style). */
  readonly appKeys = new AppKeys();
  /** Family ids per client and user (`clientId NUL userId`), so app-wide revocation and consent checks stay cheap. */
  private readonly familiesByAuthorization = new Map<string, Set<string>>();
  lifetimes: Lifetimes;
  autoApprove: boolean;
  private offsetMs = 0;

  constructor(opts: { accessTokenTtl?: number; refreshTokenTtl?: number; autoApprove?: boolean }) {
    this.lifetimes = {
      accessTokenTtl: opts.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL,
      refreshTokenTtl: opts.refreshTokenTtl ?? DEFAULT_REFRESH_TOKEN_TTL,
    };
    this.autoApprove = opts.autoApprove ?? false;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Move the sandbox clock forward so tokens expire without waiting. */
  advanceTime(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  findUser(idOrUsername: string): SandboxUser | undefined {
    const byId = this.users.get(idOrUsername);
    if (byId) return byId;
    for (const user of this.users.values()) if (user.username === idOrUsername) return user;
    return undefined;
  }

  accessTtl(client: SandboxClient): number {
    return client.accessTokenTtl ?? this.lifetimes.accessTokenTtl;
  }

  refreshTtl(client: SandboxClient): number {
    return client.refreshTokenTtl ?? this.lifetimes.refreshTokenTtl;
  }

  addPending(p: Omit<PendingAuthorization, 'id' | 'expiresAt'>): PendingAuthorization {
    this.sweepPending();
    const pending: PendingAuthorization = { ...p, id: randomToken('req_'), expiresAt: this.now() + PENDING_TTL_MS };
    this.pending.set(pending.id, pending);
    return pending;
  }

  takePending(id: string): PendingAuthorization | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    return p.expiresAt > this.now() ? p : undefined;
  }

  private sweepPending(): void {
    if (this.pending.size < 1000) return;
    const now = this.now();
    for (const [id, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(id);
  }

  issueCode(c: Omit<AuthorizationCode, 'code' | 'expiresAt' | 'used' | 'usedFamilyId'>): AuthorizationCode {
    const code: AuthorizationCode = { ...c, code: randomToken('sbx_code_'), expiresAt: this.now() + CODE_TTL_MS, used: false, usedFamilyId: null };
    this.codes.set(code.code, code);
    return code;
  }

  newFamily(clientId: string, userId: string | null): TokenFamily {
    const family: TokenFamily = { id: randomToken('fam_'), clientId, userId, tokens: new Set() };
    this.families.set(family.id, family);
    const key = authorizationKey(clientId, userId);
    let ids = this.familiesByAuthorization.get(key);
    if (!ids) {
      ids = new Set();
      this.familiesByAuthorization.set(key, ids);
    }
    ids.add(family.id);
    return family;
  }

  /** Every family this client holds for this user (`null`: its client-credentials grants). */
  familiesOf(clientId: string, userId: string | null): TokenFamily[] {
    const ids = this.familiesByAuthorization.get(authorizationKey(clientId, userId));
    if (!ids) return [];
    const out: TokenFamily[] = [];
    for (const id of ids) {
      const family = this.families.get(id);
      if (family) out.push(family);
    }
    return out;
  }

  private addToken(family: TokenFamily, kind: TokenKind, scope: string, ttlSeconds: number): TokenRecord {
    const now = this.now();
    const record: TokenRecord = {
      value: randomToken(kind === 'access_token' ? 'sbx_at_' : 'sbx_rt_'),
      kind,
      clientId: family.clientId,
      userId: family.userId,
      scope,
      familyId: family.id,
      issuedAt: now,
      expiresAt: ttlSeconds > 0 ? now + ttlSeconds * 1000 : null,
      revokedAt: null,
      revokedBy: null,
      rotatedAt: null,
    };
    this.tokens.set(record.value, record);
    family.tokens.add(record.value);
    return record;
  }

  /**
   * Mint an access token in `family`, plus a refresh token: `'new'` mints one, `'none'` sends none (client
   * credentials), a record sends that existing refresh token again (refresh without rotation).
   */
  issue(client: SandboxClient, family: TokenFamily, scope: string, refresh: 'new' | 'none' | TokenRecord): IssuedTokens {
    const accessTtl = this.accessTtl(client);
    const access = this.addToken(family, 'access_token', scope, accessTtl);
    const out: IssuedTokens = { access_token: access.value, token_type: 'Bearer', scope };
    if (accessTtl > 0) out.expires_in = accessTtl;
    if (refresh === 'new') out.refresh_token = this.addToken(family, 'refresh_token', scope, this.refreshTtl(client)).value;
    else if (refresh !== 'none') out.refresh_token = refresh.value;
    return out;
  }

  stateOf(record: TokenRecord | undefined): TokenState {
    if (!record) return 'unknown';
    if (record.revokedAt !== null) return 'revoked';
    if (record.rotatedAt !== null) return 'rotated';
    if (record.expiresAt !== null && record.expiresAt <= this.now()) return 'expired';
    return 'active';
  }

  /** The live record for a token value, or undefined when it is unknown, revoked, rotated or expired. */
  live(value: string): TokenRecord | undefined {
    const record = this.tokens.get(value);
    return record && this.stateOf(record) === 'active' ? record : undefined;
  }

  lookup(value: string): TokenLookup {
    const record = this.tokens.get(value);
    const state = this.stateOf(record);
    if (!record) return { state };
    return {
      state,
      kind: record.kind,
      clientId: record.clientId,
      userId: record.userId,
      scope: record.scope,
      familyId: record.familyId,
      expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
      revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
      revokedBy: record.revokedBy,
    };
  }

  private kill(value: string, by: string, at: number): number {
    const record = this.tokens.get(value);
    if (!record || record.revokedAt !== null) return 0;
    record.revokedAt = at;
    record.revokedBy = by;
    return 1;
  }

  revokeFamily(familyId: string, by: string): number {
    const family = this.families.get(familyId);
    if (!family) return 0;
    const at = this.now();
    let n = 0;
    for (const value of family.tokens) n += this.kill(value, by, at);
    return n;
  }

  /** Every token of this client for this user, across authorizations (GitHub's "delete an app authorization"). */
  revokeAppAuthorization(clientId: string, userId: string | null, by: string): number {
    let n = 0;
    for (const family of this.familiesOf(clientId, userId)) n += this.revokeFamily(family.id, by);
    return n;
  }

  /**
   * Revoke `record` with the given scope; returns how many tokens died.
   * @see RFC 7009 §2.1 (a revoked refresh token SHOULD take the access tokens of the same grant with it)
   */
  revoke(record: TokenRecord, scope: RevokeScope, by: string): number {
    switch (scope) {
      case 'single_token':
        return this.kill(record.value, by, this.now());
      case 'token':
      case 'token_or_refresh_family':
        return record.kind === 'refresh_token' ? this.revokeFamily(record.familyId, by) : this.kill(record.value, by, this.now());
      case 'family':
        return this.revokeFamily(record.familyId, by);
      case 'app_authorization':
        return this.revokeAppAuthorization(record.clientId, record.userId, by);
      case 'app_refresh_tokens':
        return this.revokeRefreshTokens(this.familiesOf(record.clientId, record.userId), by);
      case 'user_refresh_tokens':
        return this.revokeRefreshTokens(this.familiesOfUser(record.userId), by);
    }
  }

  /** Whether this client still holds a live token (of `kind`, when given) for this user: is the app still connected? */
  holdsLive(clientId: string, userId: string | null, kind?: TokenKind): boolean {
    for (const family of this.familiesOf(clientId, userId)) {
      for (const value of family.tokens) {
        const record = this.live(value);
        if (record && (kind === undefined || record.kind === kind)) return true;
      }
    }
    return false;
  }

  /** Every family of this user, of every client (a scan: only the sign-in-sessions style needs it). */
  familiesOfUser(userId: string | null): TokenFamily[] {
    const out: TokenFamily[] = [];
    for (const family of this.families.values()) if (family.userId === userId) out.push(family);
    return out;
  }

  /** Kill the refresh tokens of these families; their access tokens live until they expire. */
  revokeRefreshTokens(families: TokenFamily[], by: string): number {
    const at = this.now();
    let n = 0;
    for (const family of families) {
      for (const value of family.tokens) if (this.tokens.get(value)?.kind === 'refresh_token') n += this.kill(value, by, at);
    }
    return n;
  }
}

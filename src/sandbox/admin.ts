/**
 * The sandbox's admin surface, used by tests, the CLI and demos: clients, users, faults, counters, token lookup and
 * direct revocation, token minting without the browser dance, the clock and global settings. `SandboxAdmin` is the
 * programmatic form; `handleAdmin` serves the same operations as JSON under `/_admin/`. Input from either side is
 * validated here with errors naming the field and the fix.
 */
import type { ServerResponse } from 'node:http';
import { ENDPOINTS, FaultError, isEndpoint, parseFault, type CallCounters, type Endpoint, type EndpointCounters, type FaultBoard, type FaultSpec, type FaultStatus } from './faults.ts';
import { clientDefaults, REVOKE_STYLE_NAMES, type RevokeStyle, type SandboxClient, type SandboxUser, type TokenLookup } from './model.ts';
import { randomToken, type IssuedTokens, type ProviderState } from './state.ts';
import { jsonBody, sendEmpty, sendJson, type SandboxRequest } from './wire.ts';

/** A bad admin input; `path` names the field. */
export class SandboxInputError extends Error {
  readonly path: string;
  readonly status: number;
  constructor(path: string, message: string, status = 400) {
    super(`${path}: ${message}`);
    this.name = 'SandboxInputError';
    this.path = path;
    this.status = status;
  }
}

export interface ClientInput {
  id: string;
  /** Omit to generate one; `null` makes a public client. */
  secret?: string | null;
  name?: string;
  redirectUris?: string[];
  allowLoopbackRedirects?: boolean;
  revokeStyle?: RevokeStyle;
  rotateRefreshTokens?: boolean;
  accessTokenTtl?: number | null;
  refreshTokenTtl?: number | null;
  pkceRequired?: boolean;
  autoApprove?: boolean;
  accessTokenRevocation?: boolean;
  revokeSuccessStatus?: 200 | 204;
  scopes?: string[];
}

export type ClientPatch = Partial<Omit<ClientInput, 'id'>>;

export interface UserInput {
  id?: string;
  username: string;
  name?: string;
  email?: string;
}

export type RevokeReach = 'token' | 'family' | 'app_authorization';

export interface SandboxSettings {
  autoApprove: boolean;
  accessTokenTtl: number;
  refreshTokenTtl: number;
}

const ID = /^[A-Za-z0-9._~-]{1,100}$/;

function checkString(v: unknown, path: string, pattern?: RegExp): string {
  if (typeof v !== 'string' || v === '' || v.length > 500) throw new SandboxInputError(path, 'must be a non-empty string of at most 500 characters');
  if (pattern && !pattern.test(v)) throw new SandboxInputError(path, `must match ${pattern.source}`);
  return v;
}

function checkBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new SandboxInputError(path, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function checkTtl(v: unknown, path: string, nullable: boolean): number | null {
  if (v === null && nullable) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 10 * 365 * 24 * 3600) {
    throw new SandboxInputError(path, `must be a whole number of seconds from 0 to 315360000${nullable ? ' or null (sandbox default)' : ''}`);
  }
  return v;
}

function checkRedirects(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new SandboxInputError(path, 'must be an array of absolute URIs');
  return v.map((u, i) => {
    const s = checkString(u, `${path}[${i}]`);
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new SandboxInputError(`${path}[${i}]`, `"${s}" is not an absolute URI`);
    }
    if (url.hash !== '') throw new SandboxInputError(`${path}[${i}]`, 'must not contain a fragment (RFC 6749 §3.1.2)');
    return s;
  });
}

function checkScopes(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new SandboxInputError(path, 'must be a non-empty array of scope names');
  return v.map((s, i) => checkString(s, `${path}[${i}]`, /^[\x21\x23-\x5B\x5D-\x7E]+$/));
}

const CLIENT_FIELDS = new Set(['id', 'secret', 'name', 'redirectUris', 'allowLoopbackRedirects', 'revokeStyle', 'rotateRefreshTokens', 'accessTokenTtl', 'refreshTokenTtl', 'pkceRequired', 'autoApprove', 'accessTokenRevocation', 'revokeSuccessStatus', 'scopes']);

/** Apply validated fields of `input` onto `client`. */
function applyClientFields(client: SandboxClient, input: Record<string, unknown>): void {
  for (const key of Object.keys(input)) {
    if (!CLIENT_FIELDS.has(key)) throw new SandboxInputError(key, `unknown client field; expected one of ${[...CLIENT_FIELDS].join(', ')}`);
  }
  if (input.secret !== undefined) client.secret = input.secret === null ? null : checkString(input.secret, 'secret');
  if (input.name !== undefined) client.name = checkString(input.name, 'name');
  if (input.redirectUris !== undefined) client.redirectUris = checkRedirects(input.redirectUris, 'redirectUris');
  if (input.allowLoopbackRedirects !== undefined) client.allowLoopbackRedirects = checkBool(input.allowLoopbackRedirects, 'allowLoopbackRedirects');
  if (input.revokeStyle !== undefined) {
    if (typeof input.revokeStyle !== 'string' || !(REVOKE_STYLE_NAMES as string[]).includes(input.revokeStyle)) {
      throw new SandboxInputError('revokeStyle', `must be one of ${REVOKE_STYLE_NAMES.join(', ')}, got ${JSON.stringify(input.revokeStyle)}`);
    }
    client.revokeStyle = input.revokeStyle as RevokeStyle;
  }
  if (input.rotateRefreshTokens !== undefined) client.rotateRefreshTokens = checkBool(input.rotateRefreshTokens, 'rotateRefreshTokens');
  if (input.accessTokenTtl !== undefined) client.accessTokenTtl = checkTtl(input.accessTokenTtl, 'accessTokenTtl', true);
  if (input.refreshTokenTtl !== undefined) client.refreshTokenTtl = checkTtl(input.refreshTokenTtl, 'refreshTokenTtl', true);
  if (input.pkceRequired !== undefined) client.pkceRequired = checkBool(input.pkceRequired, 'pkceRequired');
  if (input.autoApprove !== undefined) client.autoApprove = checkBool(input.autoApprove, 'autoApprove');
  if (input.accessTokenRevocation !== undefined) client.accessTokenRevocation = checkBool(input.accessTokenRevocation, 'accessTokenRevocation');
  if (input.revokeSuccessStatus !== undefined) {
    if (input.revokeSuccessStatus !== 200 && input.revokeSuccessStatus !== 204) throw new SandboxInputError('revokeSuccessStatus', `must be 200 or 204, got ${JSON.stringify(input.revokeSuccessStatus)}`);
    client.revokeSuccessStatus = input.revokeSuccessStatus;
  }
  if (input.scopes !== undefined) client.scopes = checkScopes(input.scopes, 'scopes');
}

function asRecord(input: unknown, what: string): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new SandboxInputError(what, 'must be a JSON object');
  return input as Record<string, unknown>;
}

/** The client as the admin HTTP API shows it: the secret is never echoed, only whether there is one. */
export function publicClient(client: SandboxClient): Omit<SandboxClient, 'secret'> & { public: boolean } {
  const { secret, ...rest } = client;
  return { ...rest, public: secret === null };
}

export class SandboxAdmin {
  private readonly state: ProviderState;
  private readonly faultBoard: FaultBoard;
  private readonly callCounters: CallCounters;

  constructor(state: ProviderState, faults: FaultBoard, counters: CallCounters) {
    this.state = state;
    this.faultBoard = faults;
    this.callCounters = counters;
  }

  listClients(): SandboxClient[] {
    return [...this.state.clients.values()].map((c) => structuredClone(c));
  }

  getClient(id: string): SandboxClient {
    const client = this.state.clients.get(id);
    if (!client) throw new SandboxInputError('id', `no client "${id}"`, 404);
    return structuredClone(client);
  }

  /** Register a client; fields default as for the seeded clients (secret generated when omitted). */
  createClient(input: ClientInput): SandboxClient {
    const raw = asRecord(input, 'client');
    const id = checkString(raw.id, 'id', ID);
    if (this.state.clients.has(id)) throw new SandboxInputError('id', `a client "${id}" already exists; update it instead`, 409);
    const client = { ...clientDefaults(id), secret: randomToken('sbx_secret_') };
    applyClientFields(client, raw);
    this.state.clients.set(id, client);
    return structuredClone(client);
  }

  updateClient(id: string, patch: ClientPatch): SandboxClient {
    const client = this.state.clients.get(id);
    if (!client) throw new SandboxInputError('id', `no client "${id}"`, 404);
    const raw = asRecord(patch, 'patch');
    if (raw.id !== undefined && raw.id !== id) throw new SandboxInputError('id', 'a client id cannot change');
    const next = structuredClone(client);
    applyClientFields(next, raw);
    this.state.clients.set(id, next);
    return structuredClone(next);
  }

  deleteClient(id: string): void {
    if (!this.state.clients.delete(id)) throw new SandboxInputError('id', `no client "${id}"`, 404);
  }

  listUsers(): SandboxUser[] {
    return [...this.state.users.values()].map((u) => ({ ...u }));
  }

  createUser(input: UserInput): SandboxUser {
    const raw = asRecord(input, 'user');
    for (const key of Object.keys(raw)) if (!['id', 'username', 'name', 'email'].includes(key)) throw new SandboxInputError(key, 'unknown user field; expected id, username, name, email');
    const username = checkString(raw.username, 'username', ID);
    const id = raw.id === undefined ? `user-${username}` : checkString(raw.id, 'id', ID);
    if (this.state.users.has(id) || this.state.findUser(username)) throw new SandboxInputError('username', `a user "${username}" already exists`, 409);
    const user: SandboxUser = {
      id,
      username,
      name: raw.name === undefined ? username : checkString(raw.name, 'name'),
      email: raw.email === undefined ? `${username}@sandbox.test` : checkString(raw.email, 'email'),
    };
    this.state.users.set(id, user);
    return { ...user };
  }

  setFault(endpoint: Endpoint, spec: FaultSpec): FaultStatus {
    if (!isEndpoint(endpoint)) throw new SandboxInputError('endpoint', `must be one of ${ENDPOINTS.join(', ')}, got ${JSON.stringify(endpoint)}`);
    try {
      this.faultBoard.set(endpoint, parseFault(spec));
    } catch (err) {
      if (err instanceof FaultError) throw new SandboxInputError(err.path, err.message.slice(err.path.length + 2));
      throw err;
    }
    const status = this.faultBoard.list().find((f) => f.endpoint === endpoint);
    if (!status) throw new SandboxInputError('endpoint', 'the fault was not recorded');
    return status;
  }

  clearFault(endpoint?: Endpoint): void {
    if (endpoint !== undefined && !isEndpoint(endpoint)) throw new SandboxInputError('endpoint', `must be one of ${ENDPOINTS.join(', ')}`);
    this.faultBoard.clear(endpoint);
  }

  faults(): FaultStatus[] {
    return this.faultBoard.list();
  }

  counters(): Partial<Record<Endpoint, EndpointCounters>> {
    return this.callCounters.snapshot();
  }

  /** Calls to `endpoint`, optionally by one client and with one outcome ('200', '400', '503', 'reset', 'hang'). */
  count(endpoint: Endpoint, filter: { clientId?: string; outcome?: string } = {}): number {
    return this.callCounters.count(endpoint, filter);
  }

  resetCounters(): void {
    this.callCounters.reset();
  }

  /** A token's state for assertions: active, revoked, rotated, expired or unknown. */
  tokenState(token: string): TokenLookup {
    return this.state.lookup(token);
  }

  /**
   * Revoke a token directly, as a user would in the provider's settings: `token` (just this one), `family` (its
   * authorization, the default) or `app_authorization` (every token of this client for this user). Returns how many
   * tokens died.
   */
  revokeToken(token: string, reach: RevokeReach = 'family'): number {
    const record = this.state.tokens.get(token);
    if (!record) throw new SandboxInputError('token', 'no such token in this sandbox', 404);
    if (reach === 'token') return this.state.revoke(record, 'single_token', 'admin');
    if (reach === 'family') return this.state.revokeFamily(record.familyId, 'admin');
    if (reach === 'app_authorization') return this.state.revokeAppAuthorization(record.clientId, record.userId, 'admin');
    throw new SandboxInputError('reach', 'must be token, family or app_authorization');
  }

  /** Mint a token pair as if `userId` had approved `clientId` (no browser, no code); `userId: null` mints client credentials. */
  issueTokens(input: { clientId: string; userId?: string | null; scope?: string }): IssuedTokens {
    const raw = asRecord(input, 'input');
    const client = this.state.clients.get(checkString(raw.clientId, 'clientId'));
    if (!client) throw new SandboxInputError('clientId', `no client "${String(raw.clientId)}"`, 404);
    let userId: string | null;
    if (raw.userId === null) userId = null;
    else {
      const user = raw.userId === undefined ? this.state.users.values().next().value : this.state.findUser(checkString(raw.userId, 'userId'));
      if (!user) throw new SandboxInputError('userId', `no user "${String(raw.userId)}"`, 404);
      userId = user.id;
    }
    const scope = raw.scope === undefined ? client.scopes.join(' ') : checkString(raw.scope, 'scope');
    for (const s of scope.split(' ')) if (!client.scopes.includes(s)) throw new SandboxInputError('scope', `"${s}" is not a scope of client "${client.id}"`);
    return this.state.issue(client, this.state.newFamily(client.id, userId), scope, userId === null ? 'none' : 'new');
  }

  /**
   * A JWT signed with the client's app key (made on first use), as a GitHub App signs one to act as itself: what the
   * `app-jwt` revoke style accepts. Lifetime in seconds, at most 600 to be accepted.
   */
  appJwt(clientId: string, lifetimeSeconds = 540): string {
    const client = this.state.clients.get(checkString(clientId, 'clientId'));
    if (!client) throw new SandboxInputError('clientId', `no client "${clientId}"`, 404);
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > 3600) throw new SandboxInputError('lifetimeSeconds', 'must be a whole number of seconds from 1 to 3600');
    return this.state.appKeys.sign(client.id, this.state.now(), lifetimeSeconds);
  }

  /** The client's app private key as PKCS#8 PEM, for callers that sign their own JWTs. */
  appPrivateKey(clientId: string): string {
    const client = this.state.clients.get(checkString(clientId, 'clientId'));
    if (!client) throw new SandboxInputError('clientId', `no client "${clientId}"`, 404);
    return this.state.appKeys.pair(client.id).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  /** Move the sandbox clock forward: tokens and codes expire as if the time had passed. */
  advanceTime(seconds: number): void {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) throw new SandboxInputError('seconds', 'must be a non-negative number of seconds');
    this.state.advanceTime(seconds);
  }

  settings(): SandboxSettings {
    return { autoApprove: this.state.autoApprove, ...this.state.lifetimes };
  }

  updateSettings(patch: Partial<SandboxSettings>): SandboxSettings {
    const raw = asRecord(patch, 'settings');
    for (const key of Object.keys(raw)) if (!['autoApprove', 'accessTokenTtl', 'refreshTokenTtl'].includes(key)) throw new SandboxInputError(key, 'unknown setting; expected autoApprove, accessTokenTtl, refreshTokenTtl');
    const autoApprove = raw.autoApprove === undefined ? this.state.autoApprove : checkBool(raw.autoApprove, 'autoApprove');
    const access = raw.accessTokenTtl === undefined ? this.state.lifetimes.accessTokenTtl : (checkTtl(raw.accessTokenTtl, 'accessTokenTtl', false) ?? 0);
    const refresh = raw.refreshTokenTtl === undefined ? this.state.lifetimes.refreshTokenTtl : (checkTtl(raw.refreshTokenTtl, 'refreshTokenTtl', false) ?? 0);
    this.state.autoApprove = autoApprove;
    this.state.lifetimes = { accessTokenTtl: access, refreshTokenTtl: refresh };
    return this.settings();
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SandboxInputError('path', 'a path segment is not valid percent-encoding');
  }
}

function body(req: SandboxRequest): Record<string, unknown> {
  const parsed = jsonBody(req);
  if (!parsed.ok) throw new SandboxInputError('body', parsed.message, parsed.message.startsWith('Content-Type') ? 415 : 400);
  return parsed.value;
}

/** Serve `/_admin/...` (the caller has checked the admin token). */
export function handleAdmin(admin: SandboxAdmin, req: SandboxRequest, res: ServerResponse): void {
  try {
    route(admin, req, res);
  } catch (err) {
    if (err instanceof SandboxInputError) {
      sendJson(res, err.status, { error: err.status === 404 ? 'not_found' : err.status === 409 ? 'conflict' : 'invalid_request', error_description: err.message, path: err.path });
      return;
    }
    throw err;
  }
}

function route(admin: SandboxAdmin, req: SandboxRequest, res: ServerResponse): void {
  const parts = req.path.split('/').slice(2).map(decodeSegment);
  const [resource, id, action] = parts;
  const m = req.method;
  const notAllowed = (allow: string): void => sendJson(res, 405, { error: 'method_not_allowed', error_description: `use ${allow} on ${req.path}` }, { allow });
  switch (resource) {
    case 'clients':
      if (id === undefined) {
        if (m === 'GET') return sendJson(res, 200, { clients: admin.listClients().map(publicClient) });
        if (m === 'POST') return sendJson(res, 201, admin.createClient(body(req) as unknown as ClientInput));
        return notAllowed('GET, POST');
      }
      if (action === 'app-jwt') {
        if (m !== 'POST') return notAllowed('POST');
        const lifetime = req.body === '' ? undefined : body(req).lifetimeSeconds;
        if (lifetime !== undefined && typeof lifetime !== 'number') throw new SandboxInputError('lifetimeSeconds', 'must be a whole number of seconds from 1 to 3600');
        return sendJson(res, 200, { jwt: admin.appJwt(id, lifetime) });
      }
      if (m === 'GET') return sendJson(res, 200, publicClient(admin.getClient(id)));
      if (m === 'PATCH') return sendJson(res, 200, publicClient(admin.updateClient(id, body(req) as ClientPatch)));
      if (m === 'DELETE') {
        admin.deleteClient(id);
        return sendEmpty(res, 204);
      }
      return notAllowed('GET, PATCH, DELETE');
    case 'users':
      if (id !== undefined) break;
      if (m === 'GET') return sendJson(res, 200, { users: admin.listUsers() });
      if (m === 'POST') return sendJson(res, 201, admin.createUser(body(req) as unknown as UserInput));
      return notAllowed('GET, POST');
    case 'faults':
      if (id === undefined) {
        if (m === 'GET') return sendJson(res, 200, { faults: admin.faults() });
        if (m === 'DELETE') {
          admin.clearFault();
          return sendEmpty(res, 204);
        }
        return notAllowed('GET, DELETE');
      }
      if (!isEndpoint(id)) throw new SandboxInputError('endpoint', `no endpoint "${id}"; use one of ${ENDPOINTS.join(', ')}`, 404);
      if (m === 'PUT') return sendJson(res, 200, admin.setFault(id, body(req) as unknown as FaultSpec));
      if (m === 'DELETE') {
        admin.clearFault(id);
        return sendEmpty(res, 204);
      }
      return notAllowed('PUT, DELETE');
    case 'counters':
      if (id !== undefined) break;
      if (m === 'GET') return sendJson(res, 200, { counters: admin.counters() });
      if (m === 'DELETE') {
        admin.resetCounters();
        return sendEmpty(res, 204);
      }
      return notAllowed('GET, DELETE');
    case 'tokens': {
      if (m !== 'POST') return notAllowed('POST');
      // The token travels in the body, never in the path, so it stays out of access logs.
      const b = body(req);
      if (id === 'lookup' && action === undefined) return sendJson(res, 200, admin.tokenState(checkString(b.token, 'token')));
      if (id === 'revoke' && action === undefined) {
        const reach = b.reach === undefined ? 'family' : b.reach;
        if (reach !== 'token' && reach !== 'family' && reach !== 'app_authorization') throw new SandboxInputError('reach', 'must be token, family or app_authorization');
        return sendJson(res, 200, { revoked: admin.revokeToken(checkString(b.token, 'token'), reach) });
      }
      if (id === 'issue' && action === undefined) return sendJson(res, 200, admin.issueTokens(b as { clientId: string }));
      break;
    }
    case 'clock':
      if (id !== undefined) break;
      if (m !== 'POST') return notAllowed('POST');
      admin.advanceTime(body(req).advanceSeconds as number);
      return sendEmpty(res, 204);
    case 'settings':
      if (id !== undefined) break;
      if (m === 'GET') return sendJson(res, 200, admin.settings());
      if (m === 'PATCH') return sendJson(res, 200, admin.updateSettings(body(req) as Partial<SandboxSettings>));
      return notAllowed('GET, PATCH');
  }
  sendJson(res, 404, { error: 'not_found', error_description: `no admin endpoint ${m} ${req.path}; see docs/sandbox.md` });
}

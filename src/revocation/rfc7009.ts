/**
 * Standard token revocation and its verification, for connectors that declare a revocation URL but no `_revoke`
 * flow. Revocation requests are built by oauth4webapi (`revocationRequest`: form body, client authentication,
 * `token_type_hint`); introspection requests (two per verified revocation) are built here, the same way, to skip a
 * fetch-style Response per call. Both go through undici with the SSRF guard, a time bound and a body bound. The
 * answers are classified here rather than by `processRevocationResponse`, because a connector platform must tell "try
 * again later" from "refused for good" from "the token was already dead" (which, for deletion, is success).
 * @see RFC 7009 §2.1 (request), §2.2 (response), §2.2.1 (error response); RFC 7662 §2.1, §2.2 (introspection)
 */
import * as oauth from 'oauth4webapi';
import { PlugboardError } from '../core/errors.ts';
import { clientBasicCredentials, formUrlEncode } from '../core/form.ts';
import { assertUrlAllowed, type TargetPolicy } from '../proxy/ssrf.ts';
import { outboundDispatcher } from '../proxy/outbound.ts';
import { exchange, exchangeTarget } from '../proxy/exchange.ts';
import { parseRetryAfter } from '../jobs/backoff.ts';

const MAX_BODY_BYTES = 64 * 1024;

export interface RevocationTarget {
  revocationUrl: string;
  introspectionUrl: string | null;
  clientAuthentication: 'client_secret_basic' | 'client_secret_post';
  allowInsecureRequests: boolean;
  allowPrivateTargets: boolean;
}

export interface GrantTokens {
  accessToken: string | null;
  refreshToken: string | null;
  clientId: string | null;
  clientSecret: string | null;
}

/** One provider answer, as shown in `serviceResponse` (the body is the provider's, tokens never echoed by us). */
export interface ProviderAnswer {
  statusCode: number | null;
  body: unknown;
  retryAfterMs?: number;
  /** A transport failure (no HTTP answer): connection refused, DNS, timeout. */
  networkError?: string;
}

export type AnswerClass = 'revoked' | 'dead' | 'retry' | 'unsupported_token_type' | 'refused';

/** Provider error codes meaning "this token is already invalid": for deletion, the goal is reached. */
const DEAD_TOKEN_CODES = new Set([
  'invalid_token', 'invalid_grant', 'token_revoked', 'token_expired', 'invalid_auth', 'account_inactive',
  'expired_token', 'invalid_access_token', 'invalid_refresh_token',
]);

function errorCodeOf(body: unknown): string | null {
  if (body === null || typeof body !== 'object') return null;
  const record = body as Record<string, unknown>;
  for (const key of ['error', 'code', 'errorCode', 'error_code']) {
    const value = record[key];
    if (typeof value === 'string') return value;
    if (value !== null && typeof value === 'object') {
      const nested = errorCodeOf(value);
      if (nested !== null) return nested;
    }
  }
  return null;
}

/**
 * True when the provider says the token is already dead (Google and Salesforce `invalid_token`, Adobe Sign
 * `INVALID_TOKEN`/`EXPIRED_TOKEN`, Slack `ok: false` with `token_revoked`, Twitch "Invalid token").
 */
export function isDeadTokenAnswer(statusCode: number | null, body: unknown): boolean {
  if (statusCode === null) return false;
  const code = errorCodeOf(body)?.toLowerCase() ?? null;
  if (code !== null && DEAD_TOKEN_CODES.has(code)) return statusCode === 200 || (statusCode >= 400 && statusCode < 500);
  if (statusCode === 400 || statusCode === 401) {
    const message = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).message : body;
    return typeof message === 'string' && /^invalid (access )?token\b/i.test(message.trim());
  }
  return false;
}

/** @see RFC 7009 §2.2 and §2.2.1 */
export function classifyRevocationAnswer(answer: ProviderAnswer): AnswerClass {
  const { statusCode, body } = answer;
  if (statusCode === null) return 'retry';
  if (isDeadTokenAnswer(statusCode, body)) return 'dead';
  // Slack-style APIs answer errors with HTTP 200 and `ok: false`.
  if (statusCode >= 200 && statusCode < 300) {
    if (body !== null && typeof body === 'object' && (body as Record<string, unknown>).ok === false) return 'refused';
    return 'revoked';
  }
  if (statusCode === 429 || statusCode === 503 || statusCode >= 500) return 'retry';
  if (statusCode === 408) return 'retry';
  if (statusCode === 400 && errorCodeOf(body) === 'unsupported_token_type') return 'unsupported_token_type';
  return 'refused';
}

function parseBody(text: string, contentType: string): unknown {
  if (text === '') return null;
  if (contentType.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (contentType.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  return text;
}

/** The transport oauth4webapi calls: SSRF-guarded, bounded in time and size (a longer answer is cut); records the raw answer. */
function transport(policy: TargetPolicy, timeoutMs: number, signal: AbortSignal | undefined, sink: { answer?: ProviderAnswer }) {
  return async (url: string, init: oauth.CustomFetchOptions<'POST', URLSearchParams>): Promise<Response> => {
    const target = new URL(url);
    assertUrlAllowed(target, policy);
    try {
      const response = await exchange(outboundDispatcher(policy), {
        ...exchangeTarget(target),
        method: 'POST',
        headers: init.headers,
        body: init.body.toString(),
        timeoutMs,
        maxBodyBytes: MAX_BODY_BYTES,
        oversize: 'truncate',
        ...(signal === undefined ? {} : { signal }),
      });
      const text = response.body.toString('utf8');
      const contentType = String(response.headers['content-type'] ?? '');
      const retryAfter = parseRetryAfter(response.headers['retry-after'] as string | undefined);
      sink.answer = { statusCode: response.statusCode, body: parseBody(text, contentType), ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) };
      return new Response(response.statusCode === 204 || response.statusCode === 304 ? null : text, { status: response.statusCode, headers: contentType ? { 'content-type': contentType } : {} });
    } catch (error) {
      if (error instanceof PlugboardError) throw error;
      sink.answer = { statusCode: null, body: null, networkError: (error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
      throw new PlugboardError('PROVIDER_UNREACHABLE', `The revocation endpoint ${target.origin} could not be reached.`, { cause: error });
    }
  };
}

function clientAuth(target: RevocationTarget, tokens: GrantTokens): oauth.ClientAuth {
  if (tokens.clientSecret === null) return oauth.None();
  // @see RFC 6749 §2.3.1: Basic is what servers MUST support; the body form where the connector says so.
  return target.clientAuthentication === 'client_secret_post' ? oauth.ClientSecretPost(tokens.clientSecret) : oauth.ClientSecretBasic(tokens.clientSecret);
}

function authorizationServer(target: RevocationTarget): oauth.AuthorizationServer {
  const as: { issuer: string; revocation_endpoint: string; introspection_endpoint?: string } = {
    issuer: new URL(target.revocationUrl).origin,
    revocation_endpoint: target.revocationUrl,
  };
  if (target.introspectionUrl !== null) as.introspection_endpoint = target.introspectionUrl;
  return as;
}

export interface CallOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Sends one RFC 7009 revocation request and returns the provider's answer (never throws for HTTP errors). */
export async function sendRevocation(target: RevocationTarget, tokens: GrantTokens, token: string, hint: 'access_token' | 'refresh_token', options: CallOptions): Promise<ProviderAnswer> {
  const sink: { answer?: ProviderAnswer } = {};
  const policy: TargetPolicy = { allowPrivateTargets: target.allowPrivateTargets };
  try {
    await oauth.revocationRequest(authorizationServer(target), { client_id: tokens.clientId ?? '' }, clientAuth(target, tokens), token, {
      // @see RFC 7009 §2.1: the hint only speeds the lookup; the server searches all types if it is wrong.
      additionalParameters: { token_type_hint: hint },
      [oauth.customFetch]: transport(policy, options.timeoutMs, options.signal, sink),
      ...(target.allowInsecureRequests ? { [oauth.allowInsecureRequests]: true } : {}),
    } as oauth.RevocationRequestOptions);
  } catch (error) {
    if (sink.answer === undefined) {
      if (error instanceof PlugboardError) throw error;
      if (error instanceof oauth.OperationProcessingError && error.code === oauth.REQUEST_PROTOCOL_FORBIDDEN) {
        throw new PlugboardError('TARGET_FORBIDDEN', 'The revocation endpoint is not https:// and the connector does not opt in to plain-HTTP targets.');
      }
      throw error;
    }
  }
  return sink.answer as ProviderAnswer;
}

export type StandardRevocationResult =
  | { kind: 'revoked'; answer: ProviderAnswer }
  | { kind: 'retry'; answer: ProviderAnswer }
  | { kind: 'refused'; answer: ProviderAnswer };

/**
 * Revokes the refresh token first (revoking it SHOULD invalidate the access tokens of the same grant, RFC 7009 §2.1),
 * then the access token (a JWT access token may outlive its refresh token otherwise). The connection counts as revoked
 * when every token it holds is revoked or already dead; an access token the server cannot revoke
 * (`unsupported_token_type`) is acceptable once its refresh token is revoked.
 */
export async function revokeStandard(target: RevocationTarget, tokens: GrantTokens, options: CallOptions): Promise<StandardRevocationResult> {
  let first: ProviderAnswer | null = null;
  let refreshRevoked = false;
  const steps: Array<[string, 'refresh_token' | 'access_token']> = [];
  if (tokens.refreshToken !== null) steps.push([tokens.refreshToken, 'refresh_token']);
  if (tokens.accessToken !== null) steps.push([tokens.accessToken, 'access_token']);
  for (const [token, hint] of steps) {
    const answer = await sendRevocation(target, tokens, token, hint, options);
    first ??= answer;
    const verdict = classifyRevocationAnswer(answer);
    if (verdict === 'retry') return { kind: 'retry', answer };
    if (verdict === 'revoked' || verdict === 'dead') {
      if (hint === 'refresh_token') refreshRevoked = true;
      continue;
    }
    if (verdict === 'unsupported_token_type' && hint === 'access_token' && refreshRevoked) continue;
    return { kind: 'refused', answer };
  }
  return { kind: 'revoked', answer: first ?? { statusCode: null, body: null } };
}

/**
 * Asks the introspection endpoint whether each token is still active; true only when every answer is
 * `active: false`. Any failure means "cannot tell" (false), never an error.
 * @see RFC 7662 §2.2
 */
export async function introspectionSaysInactive(target: RevocationTarget, tokens: GrantTokens, options: CallOptions): Promise<boolean> {
  if (target.introspectionUrl === null) return false;
  const candidates: Array<[string, 'refresh_token' | 'access_token']> = [];
  if (tokens.refreshToken !== null) candidates.push([tokens.refreshToken, 'refresh_token']);
  if (tokens.accessToken !== null) candidates.push([tokens.accessToken, 'access_token']);
  if (candidates.length === 0) return false;
  for (const [token, hint] of candidates) {
    if ((await introspect(target, tokens, token, hint, options)) !== false) return false;
  }
  return true;
}

/** What every introspection request of one endpoint and OAuth client shares, built once. */
interface PreparedIntrospection {
  origin: string;
  /** Path and query of the endpoint. */
  path: string;
  dispatcher: ReturnType<typeof outboundDispatcher>;
  headers: Record<string, string>;
  /** The client's form fields (`&client_id=...`) when it does not authenticate with Basic. */
  clientForm: string;
}

/**
 * Prepared requests by endpoint, policy and client. An erasure verifies thousands of grants of the same OAuth client
 * one after the other: the URL, the SSRF check of the target, the dispatcher and the client authentication (base64 of
 * the encoded id and secret) are worked out once for them. Bounded; entries live only in this process's memory.
 */
const preparedIntrospections = new Map<string, PreparedIntrospection | null>();
const PREPARED_LIMIT = 64;

function prepareIntrospection(target: RevocationTarget, tokens: GrantTokens): PreparedIntrospection | null {
  const clientId = tokens.clientId ?? '';
  const key = `${target.introspectionUrl}\n${target.clientAuthentication}\n${target.allowInsecureRequests}\n${target.allowPrivateTargets}\n${clientId}\n${tokens.clientSecret ?? '\u0000'}`;
  const cached = preparedIntrospections.get(key);
  if (cached !== undefined) return cached;
  let prepared: PreparedIntrospection | null = null;
  try {
    const url = new URL(target.introspectionUrl as string);
    const policy: TargetPolicy = { allowPrivateTargets: target.allowPrivateTargets };
    if (url.protocol === 'https:' || (url.protocol === 'http:' && target.allowInsecureRequests)) {
      assertUrlAllowed(url, policy);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      let clientForm = '';
      if (tokens.clientSecret === null) clientForm = `&client_id=${formUrlEncode(clientId)}`;
      else if (target.clientAuthentication === 'client_secret_post') clientForm = `&client_id=${formUrlEncode(clientId)}&client_secret=${formUrlEncode(tokens.clientSecret)}`;
      else headers.authorization = `Basic ${clientBasicCredentials(clientId, tokens.clientSecret)}`;
      prepared = { ...exchangeTarget(url), dispatcher: outboundDispatcher(policy), headers, clientForm };
    }
  } catch {
    // A malformed URL or a target the SSRF guard refuses: introspection cannot tell, for every grant of this client.
    prepared = null;
  }
  if (preparedIntrospections.size >= PREPARED_LIMIT) preparedIntrospections.clear();
  preparedIntrospections.set(key, prepared);
  return prepared;
}

/**
 * One introspection request, one buffered exchange on the guarded dispatcher (it runs twice per erased connection, so
 * it skips the fetch-style Response the revocation path builds, and reuses the prepared request of its endpoint and
 * client): the token and its hint in a form body, the client authenticated as the connector says, bounded in time and
 * size. Returns the `active` member, or null when the answer cannot tell (not 200, not JSON, no boolean, too large,
 * unreachable, refused target).
 * @see RFC 7662 §2.1 (request), §2.2 (response); RFC 6749 §2.3.1 (client password authentication)
 */
async function introspect(target: RevocationTarget, tokens: GrantTokens, token: string, hint: 'refresh_token' | 'access_token', options: CallOptions): Promise<boolean | null> {
  const prepared = prepareIntrospection(target, tokens);
  if (prepared === null) return null;
  try {
    const response = await exchange(prepared.dispatcher, {
      origin: prepared.origin,
      path: prepared.path,
      method: 'POST',
      headers: prepared.headers,
      body: `token=${formUrlEncode(token)}&token_type_hint=${hint}${prepared.clientForm}`,
      timeoutMs: options.timeoutMs,
      maxBodyBytes: MAX_BODY_BYTES,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (response.statusCode !== 200) return null;
    const body = JSON.parse(response.body.toString('utf8')) as unknown;
    const active = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).active : undefined;
    return typeof active === 'boolean' ? active : null;
  } catch {
    return null;
  }
}

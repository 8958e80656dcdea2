/**
 * The forwarding core of the proxy, independent of Fastify and of how connections are stored: build the target URL
 * under the connection's base URL, sanitise the caller's headers, apply the connection's credential where the
 * connector says, send through the guarded outbound client, and handle what comes back. A provider 401 gets exactly
 * one refresh and one retry; if the retry is refused too (or the refresh fails with `invalid_grant`) the connection
 * is marked invalid and the caller gets 401 INVALID_ACCESS_TOKEN. Opt-in retries handle 429 (honouring Retry-After)
 * and 502/503/504 (exponential backoff with jitter). Other provider errors come back with the provider's status and
 * its body in `providerMessage`.
 *
 * A request body is streamed to the provider as it arrives, and a copy is kept (up to `replayLimitBytes`) so the body
 * can be sent again on a retry. Past that size the body is not replayable: a 401 still triggers the refresh (so the
 * next call works) but the provider's answer is returned instead of retrying.
 *
 * @see RFC 6750 §3.1 (invalid_token and 401), RFC 6749 §5.2 (invalid_grant), RFC 9110 §10.2.3 (Retry-After),
 * RFC 9110 §15.5.2 (401), RFC 7617 §2 (Basic)
 */

import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { PlugboardError } from '../core/errors.ts';
import { backoffDelayMs, parseRetryAfter } from '../jobs/backoff.ts';
import { sanitizeRequestHeaders, sanitizeResponseHeaders } from './headers.ts';
import type { OutgoingHeaders } from './headers.ts';
import { requestOutbound } from './outbound.ts';
import type { OutboundResponse } from './outbound.ts';
import type { TargetPolicy } from './ssrf.ts';
import type { Dispatcher } from 'undici';
import type { EventEmitter } from 'node:events';

/** Where a credential goes on each call (mirrors the connector schema's `auth.apply`). */
export type CredentialPlacement =
  | { in: 'bearer'; scheme: string }
  | { in: 'header'; name: string; prefix: string }
  | { in: 'query'; name: string }
  | { in: 'basic' };

export type ProxyCredential = { kind: 'token'; value: string } | { kind: 'basic'; username: string; password: string };

export type RefreshOutcome =
  | { ok: true; credential: ProxyCredential }
  /** `invalid_grant`: the provider refused the refresh token; `not_refreshable`: nothing to refresh with (API key). */
  | { ok: false; reason: 'invalid_grant' | 'not_refreshable'; message: string };

/** What the proxy needs from the connection: its credential, one refresh, and the validity flag. */
export interface ConnectionCredentials {
  /** The credential to use now; refreshes first (under the connection lock) when expired or about to expire. */
  current(): Promise<ProxyCredential>;
  /** The credential when it is at hand without waiting (no refresh due); null sends the caller to `current()`. */
  currentNow?(): ProxyCredential | null;
  /** After a provider 401: refresh once, unless another caller already did since `rejected` was issued. */
  refreshAfterRejection(rejected: ProxyCredential): Promise<RefreshOutcome>;
  /** Marks the connection invalid (valid: false, event instance.invalidated). */
  markInvalid(reason: string): Promise<void>;
  /** Marks a connection that was invalid valid again after a successful call (nothing to wait for when it was valid). */
  markValid(): Promise<void> | undefined;
}

export interface RetryOptions {
  /** Further attempts after the first (0: no opt-in retries). */
  maxRetries: number;
  /** Longest Retry-After honoured, in ms; a longer one is returned to the caller instead. */
  maxRetryAfterMs: number;
  /** First backoff delay for 502/503/504, in ms (doubled per attempt, with jitter). */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const NO_RETRIES: RetryOptions = Object.freeze({ maxRetries: 0, maxRetryAfterMs: 30_000, backoffBaseMs: 200, backoffMaxMs: 5_000 });

/** The request header by which a caller opts in to retries: `X-Plugboard-Retry: <0-5>`. */
export const RETRY_HEADER = 'x-plugboard-retry';
export const MAX_RETRIES = 5;

export interface ProxyTarget {
  /** The connection's base URL (the connector's, or the connection's override), placeholders already filled. */
  baseUrl: string;
  placement: CredentialPlacement;
  policy: TargetPolicy;
  /** The connector's opt-in to plain-HTTP targets; otherwise only https is used. */
  allowPlainHttp: boolean;
}

export interface ForwardInput {
  method: string;
  /** The path after `/proxy`, exactly as the caller sent it (still percent-encoded), e.g. `/v1/files/a%2Fb`. */
  path: string;
  /** The raw query string without `?` (may be empty). */
  query: string;
  headers: IncomingHttpHeaders;
  body: Readable | null;
  target: ProxyTarget;
  credentials: ConnectionCredentials;
  retry: RetryOptions;
  /** Largest body copy kept for a retry. */
  replayLimitBytes?: number;
  /** Largest provider error body read into providerMessage. */
  errorBodyLimitBytes?: number;
  /** Aborts the request: an AbortSignal, or an EventEmitter that emits 'abort' (as undici accepts). */
  signal?: AbortSignal | EventEmitter;
  dispatcher?: Dispatcher;
  /** Test seam for waits between retries. */
  sleep?: (ms: number) => Promise<void>;
}

export interface ForwardResult {
  statusCode: number;
  headers: OutgoingHeaders;
  body: Readable;
  /** How many attempts were sent (1 when nothing was retried). */
  attempts: number;
  refreshed: boolean;
}

export const DEFAULT_REPLAY_LIMIT = 1024 * 1024;
export const DEFAULT_ERROR_BODY_LIMIT = 64 * 1024;

function badPath(message: string): PlugboardError {
  return new PlugboardError('VALIDATION_FAILED', message, { details: [{ path: 'path', message }] });
}

/**
 * Joins the caller's path under the base URL, refusing anything that could leave it: dot segments (also
 * percent-encoded), backslashes and encoded slashes that a server might decode into a traversal.
 */
export function buildTargetUrl(target: ProxyTarget, path: string, query: string): URL {
  const base = parsedBase(target.baseUrl);
  if (base.url.protocol === 'http:' && !target.allowPlainHttp) {
    throw new PlugboardError('TARGET_FORBIDDEN', `The base URL ${base.url.origin} is plain HTTP; credentials are only sent over https unless the connector sets dangerouslyAllowInsecureTargets.plainHttp.`);
  }
  if (path.includes('\\')) throw badPath('The proxied path contains a backslash; use forward slashes.');
  // Only paths with a dot or a percent sign can hide a dot segment; plain paths skip the per-segment decoding.
  if (path.includes('.') || path.includes('%')) {
    for (const segment of path.split('/')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw badPath(`The proxied path segment "${segment}" is not valid percent-encoding.`);
      }
      // An encoded slash is legitimate (`group%2Fproject`), but not when a server decoding it would see a dot segment.
      if (decoded.split(/[\\/]/).some((part) => part === '.' || part === '..')) {
        throw badPath('The proxied path contains a "." or ".." segment (possibly percent-encoded); name the resource path directly.');
      }
    }
  }
  let start = 0;
  while (path.charCodeAt(start) === 47) start++;
  const url = new URL(`${base.prefix}${start === 0 ? path : path.slice(start)}${query === '' ? '' : `?${query}`}`);
  const pathname = url.pathname;
  if (url.origin !== base.origin || !(pathname === base.path || pathname.startsWith(base.pathPrefix))) {
    throw badPath('The proxied path would leave the connection base URL.');
  }
  // Base URL query parameters (an API version, say) stay unless the caller sets the same name.
  if (base.hasQuery) for (const [name, value] of base.url.searchParams) if (!url.searchParams.has(name)) url.searchParams.append(name, value);
  return url;
}

/** Parsed base URLs by their text: a connection's base URL is parsed once, not on every call. */
interface ParsedBase {
  url: URL;
  origin: string;
  /** The base path without its trailing slashes, then with one: what every target path starts with. */
  path: string;
  pathPrefix: string;
  /** Origin and path prefix, to which the caller's path is appended. */
  prefix: string;
  hasQuery: boolean;
}
const baseCache = new Map<string, ParsedBase>();

function parsedBase(baseUrl: string): ParsedBase {
  const hit = baseCache.get(baseUrl);
  if (hit !== undefined) return hit;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new PlugboardError('VALIDATION_FAILED', `The connection's base URL "${baseUrl}" is not a valid URL; fix the connector or the connection's baseUrl override.`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  const entry: ParsedBase = { url, origin: url.origin, path, pathPrefix: `${path}/`, prefix: `${url.origin}${path}/`, hasQuery: url.search !== '' };
  if (baseCache.size > 10_000) baseCache.clear();
  baseCache.set(baseUrl, entry);
  return entry;
}

const AUTHORIZATION: readonly string[] = Object.freeze(['authorization']);
const NOTHING: readonly string[] = Object.freeze([]);

/** Applies the credential to a copy of the headers and the URL; returns the names to strip on a cross-origin redirect. */
export function applyCredential(
  placement: CredentialPlacement,
  credential: ProxyCredential,
  headers: OutgoingHeaders,
  url: URL,
): { headers: OutgoingHeaders; url: URL; credentialHeaders: readonly string[]; credentialQueryParameters: readonly string[] } {
  const out = { ...headers };
  // Only the query placement changes the URL; the others share the caller's (already private) URL object.
  const target = placement.in === 'query' ? new URL(url) : url;
  const secret = credential.kind === 'token' ? credential.value : null;
  switch (placement.in) {
    case 'bearer':
      if (secret === null) throw new PlugboardError('INTERNAL', 'The connector places a bearer token but the connection holds a username and password.');
      out.authorization = `${placement.scheme} ${secret}`;
      return { headers: out, url: target, credentialHeaders: AUTHORIZATION, credentialQueryParameters: NOTHING };
    case 'header': {
      if (secret === null) throw new PlugboardError('INTERNAL', 'The connector places a header credential but the connection holds a username and password.');
      const name = placement.name.toLowerCase();
      out[name] = `${placement.prefix}${secret}`;
      return { headers: out, url: target, credentialHeaders: [name], credentialQueryParameters: NOTHING };
    }
    case 'query':
      if (secret === null) throw new PlugboardError('INTERNAL', 'The connector places a query credential but the connection holds a username and password.');
      // The caller cannot inject its own value for the credential parameter.
      target.searchParams.delete(placement.name);
      target.searchParams.append(placement.name, secret);
      return { headers: out, url: target, credentialHeaders: NOTHING, credentialQueryParameters: [placement.name] };
    case 'basic': {
      const pair = credential.kind === 'basic' ? `${credential.username}:${credential.password}` : `${credential.value}:`;
      out.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
      return { headers: out, url: target, credentialHeaders: AUTHORIZATION, credentialQueryParameters: NOTHING };
    }
  }
}

/** Reads the caller's opt-in retry header; a bad value is a 400 naming the header and the accepted range. */
export function retryOptionsFrom(headers: IncomingHttpHeaders, connectorDefault: RetryOptions): RetryOptions {
  const raw = headers[RETRY_HEADER];
  if (raw === undefined) return connectorDefault;
  const value = Array.isArray(raw) ? raw[0] : raw;
  const trimmed = (value ?? '').trim().toLowerCase();
  let maxRetries: number;
  if (trimmed === 'off' || trimmed === 'false') maxRetries = 0;
  else if (trimmed === 'on' || trimmed === 'true') maxRetries = 3;
  else if (/^[0-9]$/.test(trimmed) && Number(trimmed) <= MAX_RETRIES) maxRetries = Number(trimmed);
  else {
    throw new PlugboardError('VALIDATION_FAILED', `The ${RETRY_HEADER} header must be on, off or a number of retries from 0 to ${MAX_RETRIES}; got "${value}".`, {
      details: [{ path: `headers.${RETRY_HEADER}`, message: `expected on, off or 0-${MAX_RETRIES}` }],
    });
  }
  return { ...connectorDefault, maxRetries };
}

/** A pass-through that keeps a copy of what flows by, up to a limit, so the body can be replayed. */
class ReplayRecorder extends Transform {
  readonly chunks: Buffer[] = [];
  size = 0;
  overflowed = false;
  readonly #limit: number;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.overflowed) {
      this.size += chunk.length;
      if (this.size > this.#limit) {
        this.overflowed = true;
        this.chunks.length = 0;
      } else {
        this.chunks.push(chunk);
      }
    }
    callback(null, chunk);
  }

  replay(): Buffer | null {
    return this.overflowed || !this.writableFinished ? null : Buffer.concat(this.chunks);
  }
}

/** Reads up to `limit` bytes of a provider body for providerMessage; JSON when it parses, text otherwise. */
export async function readErrorBody(body: Readable, contentType: string | string[] | undefined, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (size + buf.length > limit) {
      chunks.push(buf.subarray(0, limit - size));
      truncated = true;
      body.destroy();
      break;
    }
    chunks.push(buf);
    size += buf.length;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return null;
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  if (!truncated && (type === undefined || /json/i.test(type))) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // not JSON after all: keep the text
    }
  }
  return truncated ? `${text}… [truncated at ${limit} bytes]` : text;
}

/** Secrets shorter than this are not scrubbed: replacing every "ab" in a body would destroy it and hide nothing. */
const MIN_SCRUB_LENGTH = 6;

function scrubCredential(value: unknown, credential: ProxyCredential): unknown {
  const secrets = (credential.kind === 'token' ? [credential.value] : [credential.password]).filter((s) => s.length >= MIN_SCRUB_LENGTH);
  const text = JSON.stringify(value);
  if (text === undefined || !secrets.some((s) => text.includes(s))) return value;
  let scrubbed = text;
  for (const s of secrets) scrubbed = scrubbed.split(s).join('[redacted]');
  return JSON.parse(scrubbed) as unknown;
}

const RETRYABLE_5XX = new Set([502, 503, 504]);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Forwards one proxied call; see the module comment for the refresh, invalidation and retry rules. */
export async function forwardRequest(input: ForwardInput): Promise<ForwardResult> {
  const method = input.method.toUpperCase();
  const baseUrl = buildTargetUrl(input.target, input.path, input.query);
  const headers = sanitizeRequestHeaders(input.headers);
  const sleep = input.sleep ?? defaultSleep;
  const errorLimit = input.errorBodyLimitBytes ?? DEFAULT_ERROR_BODY_LIMIT;

  let recorder: ReplayRecorder | null = null;
  let firstBody: Readable | Buffer | null = null;
  if (input.body !== null && method !== 'GET' && method !== 'HEAD') {
    recorder = new ReplayRecorder(input.replayLimitBytes ?? DEFAULT_REPLAY_LIMIT);
    input.body.on('error', (err) => recorder?.destroy(err));
    firstBody = input.body.pipe(recorder);
  } else {
    // No body goes out (none came, or GET/HEAD): a Content-Length would make the provider wait for bytes never sent.
    delete headers['content-length'];
  }
  const bodyForAttempt = (attempt: number): Readable | Buffer | null | 'unreplayable' => {
    if (attempt === 0 || recorder === null) return attempt === 0 ? firstBody : null;
    return recorder.replay() ?? 'unreplayable';
  };

  let credential = input.credentials.currentNow?.() ?? (await input.credentials.current());
  let refreshed = false;
  let retriesUsed = 0;
  for (let attempt = 0; ; attempt++) {
    const body = bodyForAttempt(attempt);
    if (body === 'unreplayable') throw new PlugboardError('INTERNAL', 'A retry was attempted with a body that cannot be replayed.');
    const applied = applyCredential(input.target.placement, credential, headers, baseUrl);
    const res = await requestOutbound({
      url: applied.url,
      method,
      headers: applied.headers,
      body,
      policy: input.target.policy,
      credentialHeaders: applied.credentialHeaders,
      credentialQueryParameters: applied.credentialQueryParameters,
      signal: input.signal,
      dispatcher: input.dispatcher,
    });
    const canReplay = attempt === 0 ? recorder === null || recorder.replay() !== null : true;

    if (res.statusCode === 401) {
      if (!refreshed) {
        refreshed = true;
        let outcome: RefreshOutcome;
        try {
          outcome = await input.credentials.refreshAfterRejection(credential);
        } catch (error) {
          // A transient refresh failure (provider down): free the pooled socket before reporting it.
          await res.body.dump().catch(() => undefined);
          throw error;
        }
        if (!outcome.ok) {
          const providerMessage = scrubCredential(await readErrorBody(res.body, res.headers['content-type'], errorLimit), credential);
          const reason = outcome.reason === 'invalid_grant' ? 'the provider refused the refresh token (invalid_grant)' : 'the provider refused the credential and it cannot be refreshed';
          await input.credentials.markInvalid(reason);
          throw invalidAccessToken(reason, providerMessage);
        }
        credential = outcome.credential;
        if (canReplay) {
          await res.body.dump();
          continue;
        }
        // The token is fresh for the next call, but this body is gone: return the provider's answer as is.
        return passThrough(res, attempt + 1, refreshed);
      }
      const providerMessage = scrubCredential(await readErrorBody(res.body, res.headers['content-type'], errorLimit), credential);
      await input.credentials.markInvalid('the provider refused the credential after a refresh');
      throw invalidAccessToken('the provider refused the credential after a refresh', providerMessage);
    }

    const retryable = res.statusCode === 429 || RETRYABLE_5XX.has(res.statusCode);
    if (retryable && retriesUsed < input.retry.maxRetries && canReplay) {
      let delay: number | undefined;
      if (res.statusCode === 429) {
        const header = res.headers['retry-after'];
        const after = parseRetryAfter(Array.isArray(header) ? header[0] : header);
        delay = after ?? backoffDelayMs(retriesUsed + 1, { baseMs: input.retry.backoffBaseMs, maxMs: input.retry.backoffMaxMs });
      } else {
        delay = backoffDelayMs(retriesUsed + 1, { baseMs: input.retry.backoffBaseMs, maxMs: input.retry.backoffMaxMs });
      }
      if (delay <= input.retry.maxRetryAfterMs) {
        retriesUsed++;
        await res.body.dump();
        await sleep(delay);
        continue;
      }
    }

    if (res.statusCode >= 400) {
      const providerMessage = scrubCredential(await readErrorBody(res.body, res.headers['content-type'], errorLimit), credential);
      const passHeaders: Record<string, string> = {};
      const retryAfter = res.headers['retry-after'];
      if (typeof retryAfter === 'string') passHeaders['retry-after'] = retryAfter;
      throw new PlugboardError('PROVIDER_ERROR', `The provider answered ${res.statusCode}${retriesUsed > 0 ? ` after ${retriesUsed} retr${retriesUsed === 1 ? 'y' : 'ies'}` : ''}; its body is in providerMessage.`, {
        status: res.statusCode,
        providerMessage,
        headers: passHeaders,
      });
    }
    const marking = input.credentials.markValid();
    if (marking !== undefined) await marking;
    return passThrough(res, attempt + 1, refreshed);
  }
}

function passThrough(res: OutboundResponse, attempts: number, refreshed: boolean): ForwardResult {
  return { statusCode: res.statusCode, headers: sanitizeResponseHeaders(res.headers), body: res.body, attempts, refreshed };
}

function invalidAccessToken(reason: string, providerMessage: unknown): PlugboardError {
  return new PlugboardError(
    'INVALID_ACCESS_TOKEN',
    `The provider rejected the connection's credentials (${reason}); the instance is now invalid. Re-authenticate it: get a new authorization URL and PATCH /instances/{id} with the new code.`,
    { providerMessage },
  );
}

/**
 * Outbound HTTP for calls made on a connection's behalf: undici Agents (one keep-alive pool per origin) whose
 * connector is the SSRF guard, and a request function that follows redirects itself so each hop is re-checked and
 * credentials never follow a redirect to another origin. There are two shared Agents per process, one per target
 * policy, so a connector's opt-in to private targets can never widen what another connector may reach.
 *
 * Redirect handling follows RFC 9110 §15.4: 303 turns any method but HEAD into GET, 301/302 turn POST into GET (as
 * browsers do), 307/308 keep method and body. A streamed body cannot be sent twice, so a 307/308 after a streamed
 * body is returned to the caller as is instead of followed.
 *
 * @see RFC 9110 §15.4 (redirection), RFC 9110 §11.6.2 (credentials are scoped to an origin)
 */

import { Agent, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { PlugboardError, isPlugboardError } from '../core/errors.ts';
import { assertUrlAllowed, createGuardedConnector, STRICT_TARGET_POLICY } from './ssrf.ts';
import type { TargetPolicy } from './ssrf.ts';
import type { OutgoingHeaders } from './headers.ts';

export interface OutboundAgentOptions {
  /** Idle keep-alive socket lifetime in milliseconds. */
  keepAliveTimeout?: number;
  /** Maximum sockets per origin. */
  connectionsPerOrigin?: number;
  connectTimeout?: number;
}

export function createOutboundAgent(policy: TargetPolicy, options: OutboundAgentOptions = {}): Agent {
  return new Agent({
    connect: createGuardedConnector({ policy, timeout: options.connectTimeout ?? 10_000 }),
    keepAliveTimeout: options.keepAliveTimeout ?? 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: options.connectionsPerOrigin ?? 128,
    pipelining: 1,
  });
}

let strictAgent: Agent | null = null;
let permissiveAgent: Agent | null = null;

/** The process-wide guarded dispatcher for a policy (created on first use). */
export function outboundDispatcher(policy: TargetPolicy): Agent {
  if (policy.allowPrivateTargets) return (permissiveAgent ??= createOutboundAgent({ allowPrivateTargets: true }));
  return (strictAgent ??= createOutboundAgent(STRICT_TARGET_POLICY));
}

/** Closes the shared dispatchers (graceful stop: in-flight requests finish, idle sockets close). */
export async function closeOutboundDispatchers(): Promise<void> {
  const agents = [strictAgent, permissiveAgent].filter((a): a is Agent => a !== null);
  strictAgent = null;
  permissiveAgent = null;
  await Promise.all(agents.map((a) => a.close()));
}

export interface OutboundRequest {
  url: URL;
  method: string;
  headers: OutgoingHeaders;
  /** A Buffer/string can be replayed on a 307/308; a stream cannot. */
  body?: Readable | Buffer | string | null;
  policy: TargetPolicy;
  /** Header names (lower case) that carry credentials; dropped when a redirect leaves the original origin. */
  credentialHeaders?: readonly string[];
  /** Query parameter names that carry credentials; dropped from a redirect target on another origin. */
  credentialQueryParameters?: readonly string[];
  maxRedirects?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
  /** Aborts the request: an AbortSignal, or an EventEmitter that emits 'abort' (as undici accepts). */
  signal?: AbortSignal | EventEmitter;
  /** Overrides the shared Agent (benchmarks and tests). */
  dispatcher?: Dispatcher;
}

export interface OutboundResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** The URL that produced this response (after redirects). */
  url: URL;
  redirects: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
export const DEFAULT_MAX_REDIRECTS = 5;

function isConnectError(err: unknown): boolean {
  return (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.SocketError ||
    (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string' && /^E[A-Z]+/.test((err as { code: string }).code))
  );
}

/** Maps a transport failure to PROVIDER_UNREACHABLE, keeping the guard's TARGET_FORBIDDEN as it is. */
export function toOutboundError(err: unknown, url: URL): PlugboardError {
  if (isPlugboardError(err)) return err;
  const cause = err instanceof AggregateError ? err.errors.find(isPlugboardError) : undefined;
  if (cause !== undefined) return cause;
  const what = err instanceof Error ? err.message : String(err);
  return new PlugboardError('PROVIDER_UNREACHABLE', `The provider at ${url.origin} could not be reached: ${what}.`, {
    cause: err,
    details: [{ path: 'target', message: isConnectError(err) ? 'connection, DNS, TLS or timeout failure' : 'transport failure' }],
  });
}

/** Sends one request, following redirects under the target policy. The caller must consume or destroy `body`. */
export async function requestOutbound(req: OutboundRequest): Promise<OutboundResponse> {
  const maxRedirects = req.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const dispatcher = req.dispatcher ?? outboundDispatcher(req.policy);
  const credentialOrigin = req.url.origin;
  let url = req.url;
  let method = req.method.toUpperCase();
  // Not copied: every change below (a method change, a cross-origin redirect) builds a new object first.
  let headers: OutgoingHeaders = req.headers;
  let body = req.body ?? null;
  let bodyConsumed = false;
  for (let hop = 0; ; hop++) {
    assertUrlAllowed(url, req.policy);
    if (body instanceof Readable && bodyConsumed) body = null;
    let res: Dispatcher.ResponseData;
    try {
      res = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        headersTimeout: req.headersTimeout ?? 30_000,
        bodyTimeout: req.bodyTimeout ?? 60_000,
        signal: req.signal,
      });
    } catch (err) {
      throw toOutboundError(err, url);
    }
    if (body instanceof Readable) bodyConsumed = true;
    const location = res.headers.location;
    if (!REDIRECT_STATUSES.has(res.statusCode) || typeof location !== 'string' || maxRedirects === 0) {
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, url, redirects: hop };
    }
    const keepsMethod = res.statusCode === 307 || res.statusCode === 308;
    if (keepsMethod && body instanceof Readable) {
      // The streamed body is gone; the caller gets the redirect and can resend.
      return { statusCode: res.statusCode, headers: res.headers, body: res.body, url, redirects: hop };
    }
    if (hop >= maxRedirects) {
      res.body.resume();
      throw new PlugboardError('PROVIDER_ERROR', `The provider redirected more than ${maxRedirects} times; the last target was ${url.origin}${url.pathname}.`, {
        status: 502,
        details: [{ path: 'target', message: 'too many redirects' }],
      });
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      res.body.resume();
      throw new PlugboardError('PROVIDER_ERROR', `The provider redirected to an invalid URL.`, { status: 502 });
    }
    await res.body.dump();
    if (!keepsMethod && (res.statusCode === 303 ? method !== 'HEAD' : method === 'POST')) {
      method = 'GET';
      body = null;
      const { 'content-type': _t, 'content-length': _l, 'content-encoding': _e, ...rest } = headers;
      headers = rest;
    }
    if (next.origin !== credentialOrigin) {
      headers = { ...headers };
      for (const name of req.credentialHeaders ?? []) delete headers[name.toLowerCase()];
      for (const name of req.credentialQueryParameters ?? []) next.searchParams.delete(name);
    }
    url = next;
  }
}

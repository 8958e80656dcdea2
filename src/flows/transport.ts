/**
 * How the HTTP card reaches the network: a one-method interface, so tests and benchmarks answer in-process and the
 * proxy can hand in its SSRF-guarded dispatcher. The default transport uses undici with a per-request timeout and reads
 * the response body up to a byte limit, stopping the download (not just the parse) when the limit is passed.
 */
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import { exchange, exchangeTarget, ExchangeBodyTooLargeError, ExchangeTimeoutError, type ExchangeResponse } from '../proxy/exchange.ts';
import { PlugboardError } from '../core/errors.ts';

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
  /** The transport must fail with FLOW_LIMIT_EXCEEDED rather than buffer more than this. */
  maxBodyBytes: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  statusCode: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array | string;
}

export interface HttpTransport {
  request(request: HttpRequest): Promise<HttpResponse>;
}

export interface UndiciTransportOptions {
  /** E.g. the proxy's SSRF-guarded Agent; the global dispatcher when omitted. */
  dispatcher?: Dispatcher;
}

export function undiciTransport(options: UndiciTransportOptions = {}): HttpTransport {
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const target = targetOf(req.url);
      if (target === null) throw new PlugboardError('PROVIDER_UNREACHABLE', `${req.method} ${describeTarget(req.url)} failed: not an absolute http(s) URL`);
      let response: ExchangeResponse;
      try {
        response = await exchange(options.dispatcher ?? getGlobalDispatcher(), {
          origin: target.origin,
          path: target.path,
          method: req.method as Dispatcher.HttpMethod,
          headers: req.headers,
          body: req.body,
          timeoutMs: req.timeoutMs,
          maxBodyBytes: req.maxBodyBytes,
          ...(req.signal === undefined ? {} : { signal: req.signal }),
        });
      } catch (error) {
        if (error instanceof ExchangeBodyTooLargeError) {
          throw new PlugboardError('FLOW_LIMIT_EXCEEDED', `the response body from ${describeTarget(req.url)} is larger than ${req.maxBodyBytes} bytes`);
        }
        throw unreachable(req, error, error instanceof ExchangeTimeoutError);
      }
      const headers: Record<string, string> = {};
      for (const name in response.headers) {
        const value = response.headers[name];
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      return { statusCode: response.statusCode, headers, body: response.body };
    },
  };
}

/**
 * Origin and path of the URLs flows call: connectors call the same few endpoints, so each is parsed once. A URL with a
 * query is parsed every time and never kept: its query may carry a token.
 */
const targets = new Map<string, { origin: string; path: string } | null>();
const TARGET_LIMIT = 512;

function targetOf(url: string): { origin: string; path: string } | null {
  const cacheable = !url.includes('?');
  let target = cacheable ? targets.get(url) : undefined;
  if (target !== undefined) return target;
  try {
    const parsed = new URL(url);
    target = parsed.protocol === 'http:' || parsed.protocol === 'https:' ? exchangeTarget(parsed) : null;
  } catch {
    target = null;
  }
  if (!cacheable) return target;
  if (targets.size >= TARGET_LIMIT) targets.delete(targets.keys().next().value as string);
  targets.set(url, target);
  return target;
}

/** Scheme, host and path only: the query string may carry a token and must not reach an error message. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the target';
  }
}

function unreachable(req: HttpRequest, error: unknown, timedOut: boolean): PlugboardError {
  if (error instanceof PlugboardError) return error;
  const reason = timedOut ? `no answer within ${req.timeoutMs} ms` : req.signal?.aborted ? 'the execution was cancelled' : describeNetworkError(error);
  return new PlugboardError('PROVIDER_UNREACHABLE', `${req.method} ${describeTarget(req.url)} failed: ${reason}`, { cause: error });
}

function describeNetworkError(error: unknown): string {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown; cause?: { code?: unknown } }) : {};
  const name = typeof code.code === 'string' ? code.code : typeof code.cause?.code === 'string' ? code.cause.code : undefined;
  return name ?? (error instanceof Error ? error.name : 'network error');
}

/** An in-process transport: a function answers each request (tests, benchmarks, dry runs). */
export function handlerTransport(handler: (request: HttpRequest) => HttpResponse | Promise<HttpResponse>): HttpTransport {
  return { request: async (req) => handler(req) };
}

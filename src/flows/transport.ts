/**
 * How the HTTP card reaches the network: a one-method interface, so tests and benchmarks answer in-process and the
 * proxy can hand in its SSRF-guarded dispatcher. The default transport uses undici with a per-request timeout and reads
 * the response body up to a byte limit, stopping the download (not just the parse) when the limit is passed.
 */
import { request, type Dispatcher } from 'undici';
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
      // A cleared timer and one listener rather than AbortSignal.timeout/any: those keep a timer, a signal and a
      // registration alive for the whole timeout after the request ended, which adds up under high request rates.
      const timeout = boundRequest(req.timeoutMs, req.signal);
      const signal = timeout.signal;
      try {
        let response: Dispatcher.ResponseData;
        try {
          response = await request(req.url, {
            method: req.method as Dispatcher.HttpMethod,
            headers: req.headers,
            body: req.body ?? undefined,
            signal,
            ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
          });
        } catch (error) {
          throw unreachable(req, error, timeout.aborted);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        try {
          for await (const chunk of response.body) {
            size += (chunk as Buffer).length;
            if (size > req.maxBodyBytes) {
              response.body.destroy();
              throw new PlugboardError('FLOW_LIMIT_EXCEEDED', `the response body from ${describeTarget(req.url)} is larger than ${req.maxBodyBytes} bytes`);
            }
            chunks.push(chunk as Buffer);
          }
        } catch (error) {
          if (error instanceof PlugboardError) throw error;
          throw unreachable(req, error, timeout.aborted);
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
        }
        return { statusCode: response.statusCode, headers, body: Buffer.concat(chunks) };
      } finally {
        timeout.release();
      }
    },
  };
}

/** A request's abort signal: aborted by the time bound or by the caller's signal; `release` when the request ends. */
export interface RequestBound {
  readonly signal: AbortSignal;
  /** True when the time bound (not the caller) aborted the request. */
  readonly aborted: boolean;
  release(): void;
}

export function boundRequest(timeoutMs: number, outer: AbortSignal | undefined): RequestBound {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The request timed out.', 'TimeoutError'));
  }, timeoutMs);
  const onAbort = (): void => controller.abort(outer?.reason);
  if (outer !== undefined) {
    if (outer.aborted) onAbort();
    else outer.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: controller.signal,
    get aborted() {
      return timedOut;
    },
    release() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
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

/**
 * One buffered HTTP exchange on an undici dispatcher: the request goes out, the whole answer comes back as a Buffer,
 * bounded in size and in time. For the small request/answer pairs Plugboard sends by the thousand (revocation,
 * introspection, flow HTTP cards), it talks to undici's dispatch interface directly instead of `request()`: no
 * Readable stream per answer, no async resource, no AbortSignal per request. That is about a third of the client-side
 * CPU of such a call (`bench/erasure.ts`). The proxy, which streams bodies, keeps `request()` (outbound.ts).
 *
 * Failures reject with: `ExchangeTimeoutError` when the time bound passes, `ExchangeBodyTooLargeError` when the answer
 * grows past `maxBodyBytes` (the download is stopped, not just the parse; or the answer is cut there, with `oversize:
 * 'truncate'`), the caller's abort reason when its signal
 * aborts, else undici's own error (connection refused, reset, the SSRF connector's refusal).
 */
import type { Dispatcher } from 'undici';

export interface ExchangeRequest {
  /** `scheme://host[:port]`, as `URL.origin` gives it. */
  origin: string;
  /** Path and query, starting with `/`. */
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body: string | Buffer | null;
  /** Bound on the whole exchange, from dispatch to the last byte of the answer. */
  timeoutMs: number;
  maxBodyBytes: number;
  /**
   * An answer growing past `maxBodyBytes`: `fail` (the default) rejects with ExchangeBodyTooLargeError; `truncate`
   * resolves with the chunks received before the one that passed the bound. Either way the download stops there.
   */
  oversize?: 'fail' | 'truncate';
  signal?: AbortSignal;
}

export interface ExchangeResponse {
  statusCode: number;
  /** Lower-case names; a repeated header is an array. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class ExchangeTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export class ExchangeBodyTooLargeError extends Error {
  readonly maxBodyBytes: number;
  /** The status of the answer whose body was too large. */
  readonly statusCode: number;
  constructor(maxBodyBytes: number, statusCode: number) {
    super(`the response body is larger than ${maxBodyBytes} bytes`);
    this.maxBodyBytes = maxBodyBytes;
    this.statusCode = statusCode;
  }
}

/** The `origin` and `path` (path and query) of an exchange to `url`. */
export function exchangeTarget(url: URL): { origin: string; path: string } {
  return { origin: url.origin, path: `${url.pathname}${url.search}` };
}

type AbortFn = (reason: unknown) => void;

/**
 * One listener per caller signal, however many exchanges it bounds: a batch of revocations shares its job's signal,
 * and adding and removing an event listener per request costs more than the rest of the bookkeeping.
 */
const watchers = new WeakMap<AbortSignal, Set<AbortFn>>();

function watch(signal: AbortSignal, abort: AbortFn): Set<AbortFn> {
  let set = watchers.get(signal);
  if (set === undefined) {
    const created = new Set<AbortFn>();
    set = created;
    watchers.set(signal, created);
    signal.addEventListener('abort', () => {
      const pending = [...created];
      created.clear();
      for (const fn of pending) fn(signal.reason);
    }, { once: true });
  }
  set.add(abort);
  return set;
}

/** Exchanges still bounded by this signal (released as each ends): for tests and diagnostics. */
export function exchangesWatching(signal: AbortSignal): number {
  return watchers.get(signal)?.size ?? 0;
}

class BufferingHandler implements Dispatcher.DispatchHandler {
  readonly #resolve: (response: ExchangeResponse) => void;
  readonly #reject: (error: unknown) => void;
  readonly #maxBodyBytes: number;
  readonly #truncate: boolean;
  #controller: Dispatcher.DispatchController | null = null;
  /** Set when the exchange was cut short before undici handed over its controller. */
  #pendingAbort: Error | null = null;
  #timer: NodeJS.Timeout | null = null;
  #watching: Set<AbortFn> | null = null;
  #statusCode = 0;
  #headers: Record<string, string | string[] | undefined> = {};
  #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;

  constructor(request: ExchangeRequest, resolve: (response: ExchangeResponse) => void, reject: (error: unknown) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#maxBodyBytes = request.maxBodyBytes;
    this.#truncate = request.oversize === 'truncate';
    this.#timer = setTimeout(() => this.#abort(new ExchangeTimeoutError(request.timeoutMs)), request.timeoutMs);
    if (request.signal !== undefined) this.#watching = watch(request.signal, this.#onCallerAbort);
  }

  readonly #onCallerAbort = (reason: unknown): void => {
    this.#abort(reason instanceof Error ? reason : new Error('the exchange was aborted'));
  };

  #abort(reason: Error): void {
    if (this.#settled) return;
    if (this.#controller === null) {
      this.#pendingAbort = reason;
      // Not dispatched yet (queued behind busy connections): fail now; undici drops it when it gets to it.
      this.#fail(reason);
      return;
    }
    this.#controller.abort(reason);
  }

  #release(): void {
    this.#settled = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#watching?.delete(this.#onCallerAbort);
    this.#watching = null;
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#release();
    this.#chunks = [];
    this.#reject(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort !== null) controller.abort(this.#pendingAbort);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx interim answers (100 Continue, 103 Early Hints) are not the answer.
    if (statusCode < 200) return;
    this.#statusCode = statusCode;
    this.#headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    if (this.#size + chunk.byteLength > this.#maxBodyBytes) {
      const error = new ExchangeBodyTooLargeError(this.#maxBodyBytes, this.#statusCode);
      if (this.#truncate) this.#succeed();
      else this.#fail(error);
      controller.abort(error);
      return;
    }
    this.#size += chunk.byteLength;
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#succeed();
  }

  #succeed(): void {
    if (this.#settled) return;
    this.#release();
    const chunks = this.#chunks;
    this.#chunks = [];
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size);
    this.#resolve({ statusCode: this.#statusCode, headers: this.#headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#fail(error);
  }
}

/** Sends one request and buffers its answer (see the module comment for what it rejects with). */
export function exchange(dispatcher: Dispatcher, request: ExchangeRequest): Promise<ExchangeResponse> {
  return new Promise<ExchangeResponse>((resolve, reject) => {
    if (request.signal?.aborted === true) {
      reject(request.signal.reason instanceof Error ? request.signal.reason : new Error('the exchange was aborted'));
      return;
    }
    const handler = new BufferingHandler(request, resolve, reject);
    try {
      dispatcher.dispatch({ origin: request.origin, path: request.path, method: request.method, headers: request.headers, body: request.body }, handler);
    } catch (error) {
      handler.onResponseError(null as unknown as Dispatcher.DispatchController, error as Error);
    }
  });
}

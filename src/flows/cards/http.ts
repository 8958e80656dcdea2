/**
 * HTTP Raw Request: one request through the execution's transport. The body is encoded by `bodyType` or the request's
 * Content-Type (JSON by default); the response body is parsed by its Content-Type. A 4xx or 5xx answer is an output,
 * not an error, unless the card sets `failOnHttpError`. A 429 is retried when the card's retry policy allows it,
 * honouring Retry-After and never waiting past the policy's bound or the execution's deadline.
 *
 * @see RFC 9110 §15.5 (4xx), §15.6 (5xx), §10.2.3 (Retry-After)
 * @see RFC 6585 §4 (429 Too Many Requests)
 */
import { PlugboardError } from '../../core/errors.ts';
import { asText, assertJsonWithin, evaluate, flowFailed, limitExceeded, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { HttpCardNode } from '../tree.ts';
import { describeTarget, type HttpRequest, type HttpResponse } from '../transport.ts';

const METHOD = /^[A-Z]+$/;
const DEADLINE_SLACK_MS = 5;
const COMMON_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

export async function runHttp(node: HttpCardNode, frame: Frame, run: Run, trace: CardTrace | null): Promise<Record<string, unknown>> {
  const request = buildRequest(node, frame, run);
  if (trace !== null) {
    trace.inputs = { url: request.url, method: request.method, headers: request.headers, body: request.body };
  }
  let attempt = 1;
  for (;;) {
    const response = await send(node, request, run);
    if (response.statusCode === 429 && node.retry.on429 && attempt < node.retry.maxAttempts) {
      const waitMs = retryDelay(response.headers['retry-after'], attempt, node.retry.maxWaitMs);
      if (waitMs !== null && performance.now() + waitMs < run.deadline) {
        await sleep(waitMs, run.signal);
        attempt++;
        continue;
      }
    }
    const body = parseBody(response);
    if (node.failOnHttpError && response.statusCode >= 400) {
      throw new PlugboardError('PROVIDER_ERROR', `${request.method} ${describeTarget(request.url)} answered HTTP ${response.statusCode}`, {
        providerMessage: { statusCode: response.statusCode, body },
      });
    }
    return { statusCode: response.statusCode, headers: response.headers, body };
  }
}

function buildRequest(node: HttpCardNode, frame: Frame, run: Run): HttpRequest {
  const rawUrl = evaluate(node.url, frame, run);
  if (typeof rawUrl !== 'string') throw flowFailed(`HTTP card at ${node.locator}: url must be text, got ${rawUrl === null ? 'null' : typeof rawUrl}`);
  const rawMethod = evaluate(node.method, frame, run);
  const method = typeof rawMethod === 'string' && COMMON_METHODS.has(rawMethod) ? rawMethod : asText(rawMethod).toUpperCase();
  if (!COMMON_METHODS.has(method) && !METHOD.test(method)) throw flowFailed(`HTTP card at ${node.locator}: '${method}' is not an HTTP method`);
  const query = node.query === null ? null : evaluate(node.query, frame, run);
  const queryEntries = query !== null && typeof query === 'object' && !Array.isArray(query) ? Object.entries(query) : [];
  let target = queryEntries.length === 0 ? checkedUrls.get(rawUrl) : undefined;
  if (target === undefined) {
    const url = parseUrl(rawUrl, node.locator);
    for (const [name, value] of queryEntries) {
      if (value === null || value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, asText(item));
    }
    target = url.toString();
    if (queryEntries.length === 0) {
      if (checkedUrls.size >= CHECKED_URL_LIMIT) checkedUrls.delete(checkedUrls.keys().next().value as string);
      checkedUrls.set(rawUrl, target);
    }
  }
  const headers: Record<string, string> = {};
  const rawHeaders = node.headers === null ? null : evaluate(node.headers, frame, run);
  if (rawHeaders !== null && typeof rawHeaders === 'object' && !Array.isArray(rawHeaders)) {
    for (const [name, value] of Object.entries(rawHeaders)) {
      if (value !== null && value !== undefined) headers[name.toLowerCase()] = asText(value);
    }
  }
  let body: string | null = null;
  const rawBody = node.body === null ? null : evaluate(node.body, frame, run);
  // GET and HEAD carry no body (RFC 9110 §9.3.1: a body there has no defined semantics).
  if (rawBody !== null && rawBody !== undefined && method !== 'GET' && method !== 'HEAD') {
    const bodyType = node.bodyType ?? bodyTypeOf(headers['content-type']);
    if (bodyType === 'form') {
      body = typeof rawBody === 'string' ? rawBody : formEncode(rawBody, node.locator);
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (bodyType === 'text') {
      body = asText(rawBody);
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else {
      assertJsonWithin(rawBody, run.limits.maxBodyBytes, `the request body of the HTTP card at ${node.locator}`);
      body = JSON.stringify(rawBody);
      headers['content-type'] ??= 'application/json';
    }
    if (body.length > run.limits.maxBodyBytes) throw limitExceeded(`the request body of the HTTP card at ${node.locator} is larger than ${run.limits.maxBodyBytes} bytes`);
  }
  return { url: target, method, headers, body, timeoutMs: node.timeoutMs, maxBodyBytes: run.limits.maxBodyBytes };
}

/** Validated, normalized URLs without a query: connectors call the same few endpoints, so parse each once. */
const checkedUrls = new Map<string, string>();
const CHECKED_URL_LIMIT = 512;

function parseUrl(rawUrl: string, locator: string): URL {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw flowFailed(`HTTP card at ${locator}: url is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw flowFailed(`HTTP card at ${locator}: url must be http or https, got ${url.protocol}`);
  return url;
}

function bodyTypeOf(contentType: string | undefined): 'json' | 'form' | 'text' {
  if (contentType === undefined || contentType === 'application/json') return 'json';
  if (contentType === 'application/x-www-form-urlencoded') return 'form';
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  return type.startsWith('text/') ? 'text' : 'json';
}

function formEncode(value: unknown, locator: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw flowFailed(`HTTP card at ${locator}: a form body must be an object of fields or text`);
  }
  const params = new URLSearchParams();
  for (const [name, field] of Object.entries(value)) {
    if (field === null || field === undefined) continue;
    for (const item of Array.isArray(field) ? field : [field]) params.append(name, asText(item));
  }
  return params.toString();
}

async function send(node: HttpCardNode, request: HttpRequest, run: Run): Promise<HttpResponse> {
  const remaining = run.deadline - performance.now();
  if (remaining <= 0) throw limitExceeded(`the execution ran longer than ${run.limits.timeoutMs} ms`);
  // The card's own timeout is a provider problem; running into the execution's deadline is a bound.
  const deadlineBound = remaining < node.timeoutMs;
  const timeoutMs = Math.max(1, Math.ceil(Math.min(remaining, node.timeoutMs)));
  try {
    request.timeoutMs = timeoutMs;
    if (run.signal !== undefined) request.signal = run.signal;
    const response = await run.transport.request(request);
    // A string's UTF-8 size is at most 3 bytes per UTF-16 unit: count exactly only when it could be over the limit.
    const size = typeof response.body === 'string'
      ? (response.body.length * 3 <= run.limits.maxBodyBytes ? response.body.length : Buffer.byteLength(response.body))
      : response.body.byteLength;
    if (size > run.limits.maxBodyBytes) {
      throw limitExceeded(`the response body from ${describeTarget(request.url)} is larger than ${run.limits.maxBodyBytes} bytes`);
    }
    run.responseBytes += size;
    if (run.responseBytes > run.limits.maxTotalBodyBytes) {
      throw limitExceeded(`the execution received more than ${run.limits.maxTotalBodyBytes} bytes of response bodies`);
    }
    return response;
  } catch (error) {
    // Timers may fire a little before the monotonic clock reaches the deadline: a failure that close to it, when the
    // deadline was the tighter bound, is the deadline's.
    if (deadlineBound && performance.now() >= run.deadline - DEADLINE_SLACK_MS) throw limitExceeded(`the execution ran longer than ${run.limits.timeoutMs} ms`);
    if (error instanceof PlugboardError) throw error;
    throw new PlugboardError('PROVIDER_UNREACHABLE', `${request.method} ${describeTarget(request.url)} failed`, { cause: error });
  }
}

function parseBody(response: HttpResponse): unknown {
  const text = typeof response.body === 'string' ? response.body : Buffer.from(response.body).toString('utf8');
  if (text === '') return null;
  const contentType = response.headers['content-type'] ?? '';
  const type = contentType === 'application/json' ? contentType : contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  return text;
}

/**
 * Milliseconds to wait before the next attempt, or null when the provider asks for longer than the policy allows.
 * Without Retry-After: exponential backoff from 100 ms.
 * @see RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds
 */
export function retryDelay(retryAfter: string | undefined, attempt: number, maxWaitMs: number, now: number = Date.now()): number | null {
  let waitMs: number;
  if (retryAfter === undefined || retryAfter.trim() === '') {
    waitMs = 100 * 2 ** (attempt - 1);
  } else if (/^\d+$/.test(retryAfter.trim())) {
    waitMs = Number(retryAfter.trim()) * 1000;
  } else {
    const date = Date.parse(retryAfter);
    if (Number.isNaN(date)) return null;
    waitMs = Math.max(0, date - now);
  }
  return waitMs <= maxWaitMs ? waitMs : null;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(limitExceeded('the execution was cancelled'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(limitExceeded('the execution was cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

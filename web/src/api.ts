/**
 * The console's only way to reach Plugboard: the public REST API on the same origin, with the session's API key.
 * Every failure becomes an ApiError carrying the server's `{ requestId, code, message, details?, providerMessage? }`
 * body, so each page can show the code, the message and the request id. Network failures and non-JSON answers are
 * mapped to the same shape (with codes of their own) instead of surfacing raw exceptions.
 */
import { clearApiKey, readApiKey } from './session.ts';

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ErrorBody {
  requestId?: string;
  code: string;
  message: string;
  details?: ErrorDetail[];
  providerMessage?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId?: string;
  readonly details?: ErrorDetail[];
  readonly providerMessage?: unknown;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    if (body.requestId !== undefined) this.requestId = body.requestId;
    if (body.details !== undefined) this.details = body.details;
    if (body.providerMessage !== undefined) this.providerMessage = body.providerMessage;
  }
}

/** Listeners told when the server rejects the key (401 UNAUTHENTICATED), so the app can return to sign-in. */
const unauthenticatedListeners = new Set<() => void>();
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export function authorizationHeader(key: string): string {
  return `Bearer ${key}`;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Use this key instead of the session's (sign-in checks a key before storing it). */
  apiKey?: string;
  signal?: AbortSignal;
}

function buildUrl(path: string, query?: Query): string {
  const url = new URL(path, window.location.origin);
  if (query !== undefined) {
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
    }
  }
  return url.pathname + url.search;
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const key = options.apiKey ?? readApiKey();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (key !== null) headers.Authorization = authorizationHeader(key);
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body,
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, {
      code: 'NETWORK_ERROR',
      message: 'The Plugboard server could not be reached. Check that it is running and reload the page.',
    });
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!response.ok) {
    const errorBody: ErrorBody = isErrorBody(parsed)
      ? parsed
      : {
          code: `HTTP_${response.status}`,
          message: `The server answered ${response.status} ${response.statusText} without an error body.`,
          requestId: response.headers.get('x-request-id') ?? undefined,
        };
    if (response.status === 401 && errorBody.code === 'UNAUTHENTICATED' && options.apiKey === undefined) {
      clearApiKey();
      for (const listener of unauthenticatedListeners) listener();
    }
    throw new ApiError(response.status, errorBody);
  }
  if (text !== '' && parsed === undefined) {
    throw new ApiError(response.status, {
      code: 'BAD_RESPONSE',
      message: `The server answered ${method} ${path} with a body that is not JSON.`,
      requestId: response.headers.get('x-request-id') ?? undefined,
    });
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body: body ?? {}, query }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body: body ?? {} }),
  del: <T>(path: string, query?: Query) => request<T>('DELETE', path, { query }),
};

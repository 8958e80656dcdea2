/**
 * The one error hierarchy of Plugboard. Every failure that crosses a boundary (HTTP response, CLI output, job record)
 * is a PlugboardError with a stable string `code` from ERROR_CODES. `docs/errors.md` lists every code; a test fails
 * when one is missing there. Sensitive attachments (`cause`) are non-enumerable so JSON.stringify and loggers never
 * see them.
 */

export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, summary: 'The request did not match the schema; details name each field path and what was expected.' },
  MALFORMED_JSON: { status: 400, summary: 'The request body is not valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'The request body has a content type this endpoint does not accept.' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'The request body is larger than the configured limit.' },
  UNAUTHENTICATED: { status: 401, summary: 'Credentials are missing, malformed, unknown or revoked.' },
  FORBIDDEN: { status: 403, summary: 'The credentials are valid but lack the permission this call needs.' },
  NOT_FOUND: { status: 404, summary: 'No such resource in this organization.' },
  ROUTE_NOT_FOUND: { status: 404, summary: 'No such endpoint.' },
  METHOD_NOT_ALLOWED: { status: 405, summary: 'The endpoint exists but not for this HTTP method.' },
  CONFLICT: { status: 409, summary: 'The resource already exists or is in a state that forbids this change.' },
  NOT_READY: { status: 503, summary: 'The store is unreachable or migrations are not applied yet.' },
  SHUTTING_DOWN: { status: 503, summary: 'The server is shutting down and accepts no new work.' },
  INTERNAL: { status: 500, summary: 'An unexpected failure; the request id in the body finds it in the logs.' },
  MASTER_KEY_MISSING: { status: 500, summary: 'No master key is configured for a store that holds encrypted secrets.' },
  MASTER_KEY_MISMATCH: { status: 500, summary: 'The configured master key does not match the key check value stored with the data.' },
  VAULT_DECRYPT_FAILED: { status: 500, summary: 'A sealed secret failed authentication (tampered, moved to another row, or wrong key).' },
  CONNECTOR_INVALID: { status: 400, summary: 'A connector definition failed validation; details locate each problem (file, path, expected).' },
  FLOW_COMPILE_FAILED: { status: 400, summary: 'A flow failed to compile; details name the connector, flow, card and field.' },
  FLOW_FAILED: { status: 422, summary: 'A flow ran and ended in an error (Return Error, Continue If, or an unhandled card error).' },
  FLOW_LIMIT_EXCEEDED: { status: 422, summary: 'A flow exceeded a bound: cards executed, call depth, wall-clock time or body size.' },
  INVALID_ACCESS_TOKEN: { status: 401, summary: 'The provider rejected the connection credentials and a refresh could not fix it; re-authenticate the instance.' },
  PROVIDER_ERROR: { status: 502, summary: 'The provider answered with an error; its status and body are in providerMessage.' },
  PROVIDER_UNREACHABLE: { status: 502, summary: 'The provider could not be reached (DNS, connection, TLS or timeout).' },
  OAUTH_STATE_INVALID: { status: 400, summary: 'The OAuth state is unknown, expired, already used or belongs to another organization.' },
  OAUTH_ERROR: { status: 400, summary: 'The provider refused the authorization or the code exchange (e.g. access_denied, invalid_grant).' },
  TARGET_FORBIDDEN: { status: 403, summary: 'The outbound target is private, loopback, link-local or another origin and the connector does not allow it.' },
  INSTANCE_DISABLED: { status: 409, summary: 'The instance is disabled; enable it first.' },
  INSTANCE_REVOKED: { status: 409, summary: 'The instance was revoked; re-authenticate it with PATCH /instances/{id} and a new code.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  /** Where the problem is: a JSON path (`body.element.key`), a file path plus path inside it, or a flow/card locator. */
  path: string;
  /** What is wrong and what is expected, written for the person who has to fix it. */
  message: string;
}

export interface PlugboardErrorOptions {
  details?: ErrorDetail[];
  providerMessage?: unknown;
  status?: number;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class PlugboardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: ErrorDetail[];
  readonly providerMessage?: unknown;
  readonly headers?: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: PlugboardErrorOptions = {}) {
    super(message);
    this.name = 'PlugboardError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    if (options.details !== undefined) this.details = options.details;
    if (options.providerMessage !== undefined) this.providerMessage = options.providerMessage;
    if (options.headers !== undefined) this.headers = options.headers;
    // Non-enumerable: the cause may hold a provider response or a secret-bearing request.
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}

export function isPlugboardError(value: unknown): value is PlugboardError {
  return value instanceof PlugboardError;
}

/**
 * The one error body of the API, `{ requestId, code, message, details?, providerMessage? }`, and the translation of
 * every failure into it: PlugboardErrors keep their code; Zod validation failures become VALIDATION_FAILED with one
 * detail per field path; Fastify's body errors become MALFORMED_JSON, PAYLOAD_TOO_LARGE or UNSUPPORTED_MEDIA_TYPE;
 * anything else is INTERNAL with no stack and no message from the cause (it is logged, with the request id, instead).
 */
import { z } from 'zod';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ERROR_CODES, PlugboardError, isPlugboardError, type ErrorCode, type ErrorDetail } from '../core/errors.ts';
import type { SecretScrubber } from '../crypto/redaction.ts';

export const errorBodySchema = z.object({
  requestId: z.string(),
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  providerMessage: z.unknown().optional(),
});

export type ErrorBody = z.infer<typeof errorBodySchema>;

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function validationDetails(context: string, issues: readonly ValidationIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const segments = (issue.instancePath ?? '').split('/').filter((s) => s !== '');
    const base = [context, ...segments].join('.');
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(issue.params?.keys)) {
      for (const key of issue.params.keys as string[]) details.push({ path: `${base}.${key}`, message: 'unknown field; remove it (check its spelling against the API reference at /docs)' });
      continue;
    }
    details.push({ path: base, message: issue.message ?? 'invalid value' });
  }
  return details;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
  validationContext?: string;
}

/** Maps any thrown value to a PlugboardError; `unexpected` is set when it was not an anticipated failure. */
export function toPlugboardError(error: unknown, bodyLimit: number): { error: PlugboardError; unexpected: boolean } {
  if (isPlugboardError(error)) return { error, unexpected: false };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const e = error as FastifyLikeError & { validation: ValidationIssue[] };
    // Paths name the part of the request as callers write it: `query.limit`, `body.name`, `params.id`, `headers.x`.
    const context = e.validationContext === 'querystring' ? 'query' : (e.validationContext ?? 'body');
    const details = validationDetails(context, e.validation);
    const first = details[0];
    return { error: new PlugboardError('VALIDATION_FAILED', `Invalid request: ${first.path}: ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`, { details }), unexpected: false };
  }
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError;
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: new PlugboardError('MALFORMED_JSON', 'The request body is not valid JSON; check quotes, commas and brackets', { details: [{ path: 'body', message: 'expected a JSON document' }] }), unexpected: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { error: new PlugboardError('MALFORMED_JSON', 'The request body is empty but Content-Type says application/json; send a JSON document or drop the header', { details: [{ path: 'body', message: 'expected a JSON document' }] }), unexpected: false };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new PlugboardError('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${bodyLimit} bytes (PLUGBOARD_BODY_LIMIT)`, { details: [{ path: 'body', message: `at most ${bodyLimit} bytes` }] }), unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: new PlugboardError('UNSUPPORTED_MEDIA_TYPE', 'This endpoint accepts only application/json request bodies'), unexpected: false };
    default:
      break;
  }
  if (error instanceof SyntaxError && e.statusCode === 400) {
    return { error: new PlugboardError('MALFORMED_JSON', 'The request body is not valid JSON', { details: [{ path: 'body', message: 'expected a JSON document' }] }), unexpected: false };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 404) return { error: new PlugboardError('ROUTE_NOT_FOUND', 'No such endpoint'), unexpected: false };
  if (status === 405) return { error: new PlugboardError('METHOD_NOT_ALLOWED', 'This endpoint does not accept this HTTP method'), unexpected: false };
  if (status === 413) return { error: new PlugboardError('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${bodyLimit} bytes`), unexpected: false };
  if (status === 415) return { error: new PlugboardError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type'), unexpected: false };
  if (status === 503 && e.code === 'FST_ERR_REP_ALREADY_SENT') return { error: new PlugboardError('INTERNAL', 'The response was already sent'), unexpected: true };
  if (status >= 400 && status < 500) {
    // A Fastify-level request problem (bad URL encoding, prototype poisoning, bad Content-Length): the message is
    // Fastify's own, which names the problem and never carries request data.
    return { error: new PlugboardError('VALIDATION_FAILED', `Invalid request: ${e.message ?? 'rejected by the HTTP layer'}`, { status }), unexpected: false };
  }
  return { error: new PlugboardError('INTERNAL', 'An unexpected error occurred; the request id finds it in the server log', { cause: error }), unexpected: true };
}

/** Where an error answer is logged; a pino or Fastify request logger fits. */
export interface ErrorLog {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * The PlugboardError an answer reports for `raw`, logged as every error answer is: an unexpected error at error level
 * with its stack, a 5xx at warn, anything else not at all (the caller's mistake is in the answer).
 */
export function reportedError(raw: unknown, bodyLimit: number, log: ErrorLog, requestId: string): PlugboardError {
  const { error, unexpected } = toPlugboardError(raw, bodyLimit);
  if (unexpected) log.error({ err: raw, requestId }, 'unexpected error');
  else if (error.status >= 500) log.warn({ code: error.code, requestId }, error.message);
  return error;
}

/** The response body, with any known secret scrubbed from the message, details and provider message. */
export function errorBody(error: PlugboardError, requestId: string, scrubber: SecretScrubber): ErrorBody {
  const body: ErrorBody = { requestId, code: error.code, message: scrubber.scrub(error.message) };
  if (error.details !== undefined) body.details = scrubber.redact(error.details);
  if (error.providerMessage !== undefined) body.providerMessage = scrubber.redact(error.providerMessage);
  return body;
}

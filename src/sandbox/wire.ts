/**
 * HTTP plumbing for the sandbox on bare node:http: bounded body reading, form/JSON parsing, client authentication
 * parsing (RFC 6749 §2.3.1) and the response writers every endpoint shares. Kept allocation-light because revocation
 * and introspection run here at benchmark rates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bodies above this are refused with 413: nothing the sandbox accepts is larger. */
export const MAX_BODY_BYTES = 64 * 1024;

export class BodyTooLarge extends Error {}

export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Raw body text ('' when none). */
  body: string;
  raw: IncomingMessage;
  /** The client the request is attributed to in counters; endpoints refine it once they know. */
  clientId: string | null;
  /** Parsed form body, cached: `undefined` until parsed, `null` when the body is not a form. */
  form: URLSearchParams | null | undefined;
  /** Decoded Basic credentials, cached: `undefined` until decoded (see basicCredentials for the value space). */
  basic?: BasicCredentials | null | 'absent';
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    if (declared === '0' || (declared === undefined && req.headers['transfer-encoding'] === undefined)) {
      // No body announced: do not wait for one.
      req.resume();
      resolve('');
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function mediaType(req: SandboxRequest): string {
  const ct = req.headers['content-type'];
  if (!ct) return '';
  const semi = ct.indexOf(';');
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

/** The request body as form parameters; an empty body is an empty form. */
export function formBody(req: SandboxRequest): URLSearchParams | null {
  if (req.form !== undefined) return req.form;
  if (req.body === '') req.form = new URLSearchParams();
  else if (mediaType(req) !== 'application/x-www-form-urlencoded') req.form = null;
  else req.form = new URLSearchParams(req.body);
  return req.form;
}

export type JsonResult = { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

export function jsonBody(req: SandboxRequest): JsonResult {
  if (req.body === '') return { ok: false, message: 'the request body is empty; send a JSON object' };
  const mt = mediaType(req);
  if (mt !== 'application/json' && !mt.endsWith('+json')) {
    return { ok: false, message: `Content-Type must be application/json, got ${mt || 'none'}` };
  }
  try {
    const value: unknown = JSON.parse(req.body);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, message: 'the JSON body must be an object' };
    return { ok: true, value: value as Record<string, unknown> };
  } catch {
    return { ok: false, message: 'the body is not valid JSON' };
  }
}

/** Parameters must not repeat (RFC 6749 §3.1, §3.2); returns the name of a repeated one. */
export function repeatedParam(params: URLSearchParams): string | null {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return null;
}

export interface BasicCredentials {
  id: string;
  secret: string;
}

/**
 * Decode `Authorization: Basic`; `undefined` when absent, `null` when malformed.
 * @see RFC 6749 §2.3.1 (client id and secret are form-urlencoded before base64)
 */
export function basicCredentials(req: SandboxRequest): BasicCredentials | null | undefined {
  if (req.basic === undefined) req.basic = decodeBasic(req.headers.authorization);
  return req.basic === 'absent' ? undefined : req.basic;
}

function decodeBasic(header: string | undefined): BasicCredentials | null | 'absent' {
  if (!header || !/^basic /i.test(header)) return 'absent';
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')) };
  } catch {
    return null;
  }
}

export function bearerToken(req: SandboxRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header || !/^bearer /i.test(header)) return undefined;
  const token = header.slice(7).trim();
  return token === '' ? undefined : token;
}

/**
 * Responses are written with flat header arrays: node:http takes them without building a header object, which
 * matters on the revocation and introspection paths the benchmark drives.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  const flat = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(text))];
  if (!headers?.['cache-control']) flat.push('cache-control', 'no-store');
  if (headers) for (const key in headers) flat.push(key, headers[key]);
  res.writeHead(status, flat);
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers?: Record<string, string>): void {
  const flat = ['content-length', '0'];
  if (!headers?.['cache-control']) flat.push('cache-control', 'no-store');
  if (headers) for (const key in headers) flat.push(key, headers[key]);
  res.writeHead(status, flat);
  res.end();
}

/**
 * An OAuth error response.
 * @see RFC 6749 §5.2 (error, error_description; invalid_client answers 401 with WWW-Authenticate for Basic)
 */
export function sendOAuthError(res: ServerResponse, status: number, error: string, description: string, headers?: Record<string, string>): void {
  sendJson(res, status, { error, error_description: description }, headers);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action *",
    'x-frame-options': 'DENY',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/**
 * Header sanitising for the proxy, in both directions. Towards the provider: hop-by-hop headers go (they describe
 * the caller's connection to Plugboard, not Plugboard's connection to the provider), and so does everything the
 * caller sends that could carry or forge identity: Authorization (the connection's credentials replace it), Host
 * (undici sets it from the target), Cookie, Forwarded and X-Forwarded-*. Plugboard's own control headers are consumed
 * here and never forwarded. Towards the caller: hop-by-hop headers and Set-Cookie go (a provider cookie must not land
 * on Plugboard's origin).
 *
 * @see RFC 9110 §7.6.1 (Connection and hop-by-hop fields), RFC 9110 §11.6.2 (Authorization), RFC 7239 (Forwarded)
 */

import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop fields, always removed; plus any field named in the Connection header. @see RFC 9110 §7.6.1 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Caller headers that never reach the provider. */
const CALLER_IDENTITY_HEADERS: ReadonlySet<string> = new Set(['authorization', 'host', 'cookie', 'cookie2', 'forwarded', 'x-real-ip', 'expect']);

/** Headers that control Plugboard itself (documented in docs/proxy.md); read by the proxy, never forwarded. */
export const PROXY_CONTROL_HEADER_PREFIX = 'x-plugboard-';

export type OutgoingHeaders = Record<string, string | string[]>;

const NONE_LISTED: ReadonlySet<string> = new Set();

function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  // Most messages list nothing beyond keep-alive/close: no set to build then (this runs twice per proxied call).
  if (value === undefined || value === 'keep-alive' || value === 'close') return NONE_LISTED;
  const listed = new Set<string>();
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) for (const token of v.split(',')) if (token.trim() !== '') listed.add(token.trim().toLowerCase());
  return listed;
}

/**
 * The end-to-end fields of a message, names lower-cased: hop-by-hop fields and those its Connection header lists are
 * removed, and so is every field `drop` names. @see RFC 9110 §7.6.1
 */
function endToEndHeaders(incoming: Record<string, string | string[] | undefined>, drop: (name: string) => boolean): OutgoingHeaders {
  const listed = connectionListed(incoming.connection);
  const out: OutgoingHeaders = {};
  // Object.keys, not Object.entries: no [name, value] pair allocated per header (this runs twice per proxied call).
  for (const rawName of Object.keys(incoming)) {
    const value = incoming[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(name) || listed.has(name) || drop(name)) continue;
    out[name] = value;
  }
  return out;
}

function notForProvider(name: string): boolean {
  return CALLER_IDENTITY_HEADERS.has(name) || name.startsWith('x-forwarded-') || name.startsWith(PROXY_CONTROL_HEADER_PREFIX);
}

function notForCaller(name: string): boolean {
  return name === 'set-cookie' || name === 'set-cookie2';
}

/** The headers to forward to the provider, from the caller's request headers. */
export function sanitizeRequestHeaders(incoming: IncomingHttpHeaders | Record<string, string | string[] | undefined>): OutgoingHeaders {
  return endToEndHeaders(incoming, notForProvider);
}

/** The provider's response headers to pass back to the caller. */
export function sanitizeResponseHeaders(incoming: Record<string, string | string[] | undefined>): OutgoingHeaders {
  return endToEndHeaders(incoming, notForCaller);
}

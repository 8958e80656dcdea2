/**
 * The application/x-www-form-urlencoded encoding of one value (WHATWG URL, "application/x-www-form-urlencoded
 * serializing"): letters, digits and `*-._` stay, a space becomes `+`, every other byte of its UTF-8 form is `%XX`.
 * It is what RFC 6749 asks for in form bodies (Appendix B) and in client Basic authentication (section 2.3.1), and
 * what `URLSearchParams` writes, without building one per value.
 */
const NOT_IN_URI_COMPONENT_SET = /[!'()~]|%20/g;

export function formUrlEncode(value: string): string {
  // encodeURIComponent leaves `!'()~` as they are; the form encoding escapes them too. A lone surrogate becomes
  // U+FFFD first, as in URLSearchParams (encodeURIComponent would throw on it).
  return encodeURIComponent(value.toWellFormed()).replace(NOT_IN_URI_COMPONENT_SET, (match) => (match === '%20' ? '+' : `%${match.charCodeAt(0).toString(16).toUpperCase()}`));
}

/** The credentials of RFC 6749 section 2.3.1 client Basic authentication: base64 of the form-encoded `id:secret`. */
export function clientBasicCredentials(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`).toString('base64');
}

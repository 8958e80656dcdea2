/**
 * Redaction of secrets in anything Plugboard writes out (logs, error bodies, execution history). Two layers: by key
 * path (any field whose name says it holds a secret: authorization, cookie, password, token, client secret, API
 * key...; not a bare `code`, which is far more often an error code than an OAuth code, and OAuth codes arrive in
 * query strings, which are redacted by parameter name) and by value (every secret the vault seals or opens, and every
 * credential issued, is remembered in a bounded set and scrubbed from text wherever it appears, even inside a
 * provider's error message or a URL).
 */

export const REDACTED = '[REDACTED]';

/** Field names (lowercase, without `-` and `_`) whose values are always secret. */
const SECRET_KEYS = new Set([
  'authorization', 'proxyauthorization', 'cookie', 'setcookie', 'password', 'passwd', 'secret', 'clientsecret',
  'token', 'accesstoken', 'refreshtoken', 'idtoken', 'apikey', 'xapikey', 'authorizationcode', 'authcode', 'codeverifier', 'assertion',
  'clientassertion', 'privatekey', 'usersecret', 'organizationsecret', 'orgsecret', 'instancetoken', 'elementtoken',
  'masterkey', 'sessiontoken', 'bearer', 'credentials', 'signature', 'webhooksecret', 'signingsecret',
]);

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''));
}

/** Paths for pino's `redact` option: the same names at the top level and up to three levels deep. */
export function pinoRedactPaths(): string[] {
  const names = ['authorization', 'cookie', 'password', 'secret', 'token', 'authorization_code', 'apiKey', 'api_key', 'client_secret', 'clientSecret', 'access_token', 'accessToken', 'refresh_token', 'refreshToken', 'id_token', 'code_verifier', 'userSecret', 'orgSecret', 'instanceToken', 'masterKey', 'credentials'];
  const paths = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie'];
  for (const n of names) paths.push(n, `*.${n}`, `*.*.${n}`);
  return paths;
}

/** Minimum length of a remembered value: shorter strings would scrub ordinary words. */
const MIN_SECRET_LENGTH = 8;

/**
 * A bounded set of known secret values. Oldest entries are forgotten first; the bound keeps scrubbing cost per log
 * line predictable. Long-lived credentials (the admin key) are pinned and never forgotten.
 */
export class SecretScrubber {
  readonly #recent = new Map<string, true>();
  readonly #pinned = new Set<string>();
  readonly #limit: number;

  constructor(limit = 512) {
    this.#limit = limit;
  }

  remember(value: string, pinned = false): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;
    if (pinned) {
      this.#pinned.add(value);
      return;
    }
    if (this.#recent.has(value)) this.#recent.delete(value);
    this.#recent.set(value, true);
    if (this.#recent.size > this.#limit) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  get size(): number {
    return this.#recent.size + this.#pinned.size;
  }

  /** Replaces every remembered secret (and its URL-encoded form) in `text`. */
  scrub(text: string): string {
    if (this.#recent.size === 0 && this.#pinned.size === 0) return text;
    let out = text;
    for (const set of [this.#pinned, this.#recent.keys()]) {
      for (const value of set) {
        if (out.includes(value)) out = out.split(value).join(REDACTED);
        const encoded = encodeURIComponent(value);
        if (encoded !== value && out.includes(encoded)) out = out.split(encoded).join(REDACTED);
      }
    }
    return out;
  }

  /** Deep copy of `value` with secret-named fields replaced and remembered secrets scrubbed from strings. */
  redact<T>(value: T): T {
    return this.#redact(value, 0) as T;
  }

  #redact(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value === null || typeof value !== 'object' || depth > 20) return value;
    if (Array.isArray(value)) return value.map((v) => this.#redact(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) && v !== null && v !== undefined && v !== '' ? REDACTED : this.#redact(v, depth + 1);
    return out;
  }
}

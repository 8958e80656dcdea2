/**
 * Redaction of vault values in execution history. Secrets are found by value, not by key name: the raw value, its
 * URL and form encodings, its JSON-escaped form, and its base64 and base64url encodings, also when the secret was
 * concatenated into a longer string before encoding (`Basic base64(id:secret)`). For base64 the encoding of a
 * secret depends on its offset in the encoded text, so each secret gets three "cores" (offset 0, 1, 2 mod 3), the part
 * of its encoding that does not depend on neighbouring bytes; a match replaces the whole surrounding base64 run. As a
 * last check, a string is percent-decoded and its base64 runs decoded, and the whole string is replaced when a secret
 * shows up inside.
 */

import { setOwn } from './runtime.ts';

export const REDACTED = '[redacted]';

/** Secrets shorter than this are only redacted where a whole string equals them: a 2-letter match is noise. */
const MIN_SEARCH_LENGTH = 4;
/** A base64 core shorter than this would match unrelated text. */
const MIN_CORE_LENGTH = 6;

const BASE64_CHAR = /[A-Za-z0-9+/=_-]/;
const BASE64_RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;

export interface Redactor {
  /** True when there is at least one secret to look for. */
  readonly active: boolean;
  redactString(text: string): string;
  /** A copy of `value` with every string (keys too) redacted; shared sub-objects are copied once. */
  redactValue<T>(value: T): T;
}

/**
 * Redactors by secret set. Building one costs tens of microseconds (every encoding of every secret), and the same
 * connection runs flows again and again. The process already holds these values (the vault opened them for this run);
 * the cache keeps a handful more, never writes them anywhere, and evicts the oldest set first.
 */
const redactorCache = new Map<string, Redactor>();
const REDACTOR_CACHE_LIMIT = 64;

export function createRedactor(secrets: Iterable<unknown>): Redactor {
  const list = [...secrets].filter((secret): secret is string => typeof secret === 'string' && secret !== '');
  const key = list.join('\u0000');
  const cached = redactorCache.get(key);
  if (cached !== undefined) {
    // Refresh its place in the eviction order.
    redactorCache.delete(key);
    redactorCache.set(key, cached);
    return cached;
  }
  const redactor = buildRedactor(list);
  if (redactorCache.size >= REDACTOR_CACHE_LIMIT) redactorCache.delete(redactorCache.keys().next().value as string);
  redactorCache.set(key, redactor);
  return redactor;
}

function buildRedactor(secrets: readonly string[]): Redactor {
  const exact = new Set<string>();
  const literal = new Set<string>();
  const cores = new Set<string>();
  const raw = new Set<string>();
  /** Secrets too short for a base64 core: for them, base64 runs are decoded and searched instead. */
  const uncored = new Set<string>();
  for (const secret of secrets) {
    exact.add(secret);
    if (secret.length < MIN_SEARCH_LENGTH) continue;
    raw.add(secret);
    const secretCores = base64Cores(secret);
    // With cores, the whole base64 encodings are found through them; without, they are searched as they are.
    for (const variant of textVariants(secret, secretCores.length === 0)) literal.add(variant);
    if (secretCores.length === 0) uncored.add(secret);
    for (const core of secretCores) cores.add(core);
  }
  // Longest first, so a longer variant is replaced whole before a shorter one could split it.
  const literals = [...literal].sort((a, b) => b.length - a.length);
  const coreList = [...cores];
  const rawList = [...raw];
  const uncoredList = [...uncored];
  const active = exact.size > 0;
  // A string shorter than every pattern cannot hold one (most strings in a card record are short).
  const shortest = [...coreList, ...literals].reduce((min, p) => Math.min(min, p.length), Infinity);

  const redactString = (text: string): string => {
    if (!active || text === '' || text === REDACTED) return text;
    if (exact.has(text)) return REDACTED;
    if (text.length < shortest) {
      return hidesSecret(text, rawList, uncoredList) ? REDACTED : text;
    }
    let out = text;
    // Base64 runs first, so a match replaces the whole encoded run (`Basic base64(id:secret)`), not just a part.
    for (const core of coreList) {
      let index = out.indexOf(core);
      while (index !== -1) {
        let start = index;
        let end = index + core.length;
        while (start > 0 && BASE64_CHAR.test(out[start - 1])) start--;
        while (end < out.length && BASE64_CHAR.test(out[end])) end++;
        out = out.slice(0, start) + REDACTED + out.slice(end);
        index = out.indexOf(core, start + REDACTED.length);
      }
    }
    for (const variant of literals) {
      if (out.includes(variant)) out = out.split(variant).join(REDACTED);
    }
    return hidesSecret(out, rawList, uncoredList) ? REDACTED : out;
  };

  const redactValue = <T>(value: T): T => {
    if (!active) return value;
    const seen = new Map<object, unknown>();
    const visit = (item: unknown): unknown => {
      if (typeof item === 'string') return redactString(item);
      if (item === null || typeof item !== 'object') return item;
      const known = seen.get(item);
      if (known !== undefined) return known;
      if (Array.isArray(item)) {
        const copy: unknown[] = [];
        seen.set(item, copy);
        for (const element of item) copy.push(visit(element));
        return copy;
      }
      const copy: Record<string, unknown> = {};
      seen.set(item, copy);
      for (const key in item) {
        if (Object.hasOwn(item, key)) setOwn(copy, redactString(key), visit((item as Record<string, unknown>)[key]));
      }
      return copy;
    };
    return visit(value) as T;
  };

  return { active, redactString, redactValue };
}

function textVariants(secret: string, withBase64: boolean): string[] {
  const variants = new Set<string>([secret]);
  variants.add(encodeURIComponent(secret));
  variants.add(encodeURI(secret));
  variants.add(new URLSearchParams({ s: secret }).toString().slice(2));
  variants.add(encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
  variants.add(JSON.stringify(secret).slice(1, -1));
  if (withBase64) {
    variants.add(Buffer.from(secret, 'utf8').toString('base64'));
    variants.add(Buffer.from(secret, 'utf8').toString('base64url'));
  }
  return [...variants].filter((variant) => variant.length >= MIN_SEARCH_LENGTH);
}

/**
 * The parts of base64 (and base64url) encodings of `secret` that stay the same whatever bytes surround it, for each
 * of the three alignments. @see RFC 4648 §4 (base64) and §5 (base64url): each 3 input bytes give 4 output chars.
 */
function base64Cores(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const whole = Math.floor(padded.length / 3) * 4;
    const start = offset === 0 ? 0 : 4;
    for (const encoding of ['base64', 'base64url'] as const) {
      const core = padded.toString(encoding).slice(start, whole);
      if (core.length >= MIN_CORE_LENGTH) out.push(core);
    }
  }
  return out;
}

/**
 * The last check: percent-decode, and base64-decode the runs that could hide a secret too short for a core, then look
 * for a raw secret inside. Secrets with cores were already found at every base64 alignment above.
 */
function hidesSecret(text: string, secrets: readonly string[], uncored: readonly string[]): boolean {
  if (text.includes('%')) {
    let decoded: string | undefined;
    try {
      decoded = decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      // Not valid percent-encoding: nothing hidden that way.
    }
    if (decoded !== undefined && decoded !== text && secrets.some((secret) => decoded.includes(secret))) return true;
  }
  if (uncored.length === 0) return false;
  for (const match of text.matchAll(BASE64_RUN)) {
    const decoded = Buffer.from(match[0].replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    if (uncored.some((secret) => decoded.includes(secret))) return true;
  }
  return false;
}

/**
 * The SSRF guard for every outbound call Plugboard makes on a caller's behalf (the proxy, and the flow engine's HTTP
 * card). A target is classified twice: once from its URL before anything is sent (IP literals in any spelling,
 * `localhost` names, metadata host names), and again at connect time on the address DNS actually returned, through
 * an undici connector whose `lookup` hook rejects forbidden answers and which re-checks the connected socket's peer.
 * That second check is what defeats DNS rebinding: a name that resolved to a public address during validation and to
 * 127.0.0.1 a moment later is refused when the socket is opened. Redirect targets go through the same checks because
 * every hop is a new request on the guarded dispatcher (see `outbound.ts`).
 *
 * A connector may opt in to private targets (`allowPrivateTargets`, for a sandbox or an on-premises API); even then,
 * cloud metadata addresses, the unspecified address, multicast and reserved ranges stay forbidden.
 *
 * @see RFC 6890 (special-purpose address registries), RFC 4291 §2.5.5 (IPv4-embedded IPv6), RFC 6052 §2.1 (NAT64
 * prefix), RFC 3056 §2 (6to4), RFC 4193 (unique local), RFC 6761 §6.3 (`localhost`), WHATWG URL §4.4 (IPv4 parser)
 */

import dns from 'node:dns';
import net from 'node:net';
import { buildConnector } from 'undici';
import { PlugboardError } from '../core/errors.ts';

export type AddressCategory =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'metadata'
  | 'multicast'
  | 'reserved';

/** What a target may be. `allowPrivateTargets` is the connector's explicit, loud opt-in; it is never a global switch. */
export interface TargetPolicy {
  allowPrivateTargets: boolean;
}

export const STRICT_TARGET_POLICY: TargetPolicy = Object.freeze({ allowPrivateTargets: false });

/** Categories a connector's opt-in unlocks. Metadata, unspecified, multicast and reserved are never allowed. */
const OPT_IN_CATEGORIES: ReadonlySet<AddressCategory> = new Set(['loopback', 'private', 'link-local', 'unique-local']);

export function isCategoryAllowed(category: AddressCategory, policy: TargetPolicy): boolean {
  if (category === 'public') return true;
  return policy.allowPrivateTargets && OPT_IN_CATEGORIES.has(category);
}

// ---------------------------------------------------------------------------------------------------------------
// Address parsing

/**
 * Parses an IPv4 address the way the WHATWG URL parser and inet_aton do: one to four parts, each decimal, octal
 * (leading 0) or hex (0x), the last part filling the remaining bytes. So `2130706433`, `0x7f.1` and `0177.0.0.1` all
 * give 127.0.0.1. Returns the four bytes, or null when the text is not an IPv4 address in any spelling.
 * @see WHATWG URL §4.4 "IPv4 parser"
 */
export function parseIPv4(text: string): number[] | null {
  if (text === '') return null;
  const parts = text.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = Number.parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number.parseInt(part, 10);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    numbers.push(value);
  }
  const last = numbers.pop() as number;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  const bytes = [...numbers];
  for (let i = 4 - numbers.length - 1; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return bytes;
}

/** Parses an IPv6 address (with `::`, an embedded dotted IPv4 tail, brackets or a zone id) into 16 bytes, or null. */
export function parseIPv6(text: string): number[] | null {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone !== -1) t = t.slice(0, zone);
  if (!net.isIPv6(t)) return null;
  // Rewrite a dotted IPv4 tail as two hex groups so one parser handles every form.
  const lastColon = t.lastIndexOf(':');
  const tail = t.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    t = `${t.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = t.split('::');
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8) return null;
  const bytes: number[] = [];
  for (const g of groups) {
    const v = Number.parseInt(g, 16);
    bytes.push(v >> 8, v & 0xff);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Classification

function inV4(b: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < 4; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    if (take === 0) return true;
    const mask = (0xff << (8 - take)) & 0xff;
    if ((b[i] & mask) !== (prefix[i] & mask)) return false;
  }
  return true;
}

/** @see RFC 6890 §2.2.2 (IPv4 special-purpose address registry) */
export function classifyIPv4Bytes(b: number[]): AddressCategory {
  if (inV4(b, [169, 254, 169, 254], 32) || inV4(b, [100, 100, 100, 200], 32)) return 'metadata';
  if (inV4(b, [0, 0, 0, 0], 8)) return 'unspecified';
  if (inV4(b, [127, 0, 0, 0], 8)) return 'loopback';
  if (inV4(b, [10, 0, 0, 0], 8) || inV4(b, [172, 16, 0, 0], 12) || inV4(b, [192, 168, 0, 0], 16)) return 'private';
  if (inV4(b, [100, 64, 0, 0], 10)) return 'private'; // shared address space (carrier-grade NAT), RFC 6598
  if (inV4(b, [169, 254, 0, 0], 16)) return 'link-local';
  if (inV4(b, [224, 0, 0, 0], 4)) return 'multicast';
  if (
    inV4(b, [192, 0, 0, 0], 24) || // IETF protocol assignments
    inV4(b, [192, 0, 2, 0], 24) || // documentation (TEST-NET-1)
    inV4(b, [198, 51, 100, 0], 24) || // TEST-NET-2
    inV4(b, [203, 0, 113, 0], 24) || // TEST-NET-3
    inV4(b, [198, 18, 0, 0], 15) || // benchmarking
    inV4(b, [192, 88, 99, 0], 24) || // deprecated 6to4 relay anycast
    inV4(b, [240, 0, 0, 0], 4) // reserved, including the limited broadcast address
  ) {
    return 'reserved';
  }
  return 'public';
}

function startsWith(b: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((b[i] & mask) !== (prefix[i] & mask)) return false;
  }
  return true;
}

/** @see RFC 6890 §2.2.3 (IPv6 special-purpose address registry), RFC 4291 §2.5.5, RFC 6052 §2.1, RFC 3056 §2 */
export function classifyIPv6Bytes(b: number[]): AddressCategory {
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zero(0, 16)) return 'unspecified';
  if (zero(0, 15) && b[15] === 1) return 'loopback';
  // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d reach the IPv4 host: judge that host.
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return classifyIPv4Bytes(b.slice(12));
  if (zero(0, 12)) {
    const inner = classifyIPv4Bytes(b.slice(12));
    return inner === 'public' ? 'reserved' : inner;
  }
  // NAT64 well-known prefix 64:ff9b::/96 translates to the embedded IPv4 address.
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return classifyIPv4Bytes(b.slice(12));
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return 'private'; // local-use NAT64, RFC 8215
  // 6to4 2002:V4ADDR::/48 embeds the IPv4 address in bytes 2..5.
  if (b[0] === 0x20 && b[1] === 0x02) return classifyIPv4Bytes(b.slice(2, 6));
  if (b[0] === 0xfd && b[1] === 0x00 && b[2] === 0x0e && b[3] === 0xc2 && zero(4, 14) && b[14] === 0x02 && b[15] === 0x54) {
    return 'metadata'; // fd00:ec2::254, the IPv6 instance metadata endpoint
  }
  if ((b[0] & 0xfe) === 0xfc) return 'unique-local';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return 'private'; // deprecated site-local fec0::/10
  if (b[0] === 0xff) return 'multicast';
  if (startsWith(b, [0x20, 0x01, 0x0d, 0xb8], 32)) return 'reserved'; // documentation
  if (startsWith(b, [0x20, 0x01, 0x00, 0x00], 32)) return 'reserved'; // Teredo hides the real IPv4 peer
  if (startsWith(b, [0x01, 0x00, 0, 0, 0, 0, 0, 0], 64)) return 'reserved'; // discard-only
  return 'public';
}

/** Classifies an IP address literal (any IPv4 spelling, IPv6 with or without brackets). Null when not an IP. */
export function classifyAddress(address: string): AddressCategory | null {
  const v6 = address.includes(':') ? parseIPv6(address) : null;
  if (v6 !== null) return classifyIPv6Bytes(v6);
  const v4 = parseIPv4(address);
  if (v4 !== null) return classifyIPv4Bytes(v4);
  return null;
}

const METADATA_HOST_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data']);

/**
 * Classifies a URL host name without DNS: IP literals in any spelling, `localhost` and `*.localhost`, well-known
 * metadata names. Returns null for an ordinary name, which is judged at connect time on the resolved address.
 */
export function classifyHostName(hostname: string): AddressCategory | null {
  let host = hostname.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  const literal = classifyAddress(host);
  if (literal !== null) return literal;
  if (host === 'localhost' || host.endsWith('.localhost')) return 'loopback'; // RFC 6761 §6.3
  if (METADATA_HOST_NAMES.has(host)) return 'metadata';
  return null;
}

function forbidden(target: string, category: AddressCategory, stage: string): PlugboardError {
  const hint =
    category === 'metadata' || category === 'unspecified' || category === 'multicast' || category === 'reserved'
      ? 'this kind of address is never allowed'
      : "set `allowPrivateTargets: true` on the connector if it really talks to a private network";
  return new PlugboardError('TARGET_FORBIDDEN', `The outbound target ${target} is a ${category} address (${stage}); ${hint}.`, {
    details: [{ path: 'target', message: `${target} is ${category}` }],
  });
}

/** Host names classified before: the same few provider hosts are checked on every call. */
const hostCategories = new Map<string, AddressCategory | null>();

function cachedHostCategory(hostname: string): AddressCategory | null {
  const hit = hostCategories.get(hostname);
  if (hit !== undefined) return hit;
  const category = classifyHostName(hostname);
  if (hostCategories.size > 10_000) hostCategories.clear();
  hostCategories.set(hostname, category);
  return category;
}

/**
 * Checks a URL before any request: scheme http(s) only, no credentials in the URL, and no forbidden IP literal or
 * special host name. Ordinary names pass here and are checked again, on the resolved address, at connect time.
 */
export function assertUrlAllowed(url: URL, policy: TargetPolicy): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PlugboardError('TARGET_FORBIDDEN', `The outbound target uses the scheme ${url.protocol}; only http: and https: are allowed.`, {
      details: [{ path: 'target', message: `scheme ${url.protocol} is not allowed` }],
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new PlugboardError('TARGET_FORBIDDEN', 'The outbound target carries user information in its URL; pass credentials through the connector instead.', {
      details: [{ path: 'target', message: 'user information in a URL is not allowed' }],
    });
  }
  const category = cachedHostCategory(url.hostname);
  if (category !== null && !isCategoryAllowed(category, policy)) throw forbidden(url.host, category, 'by its URL');
}

/** Resolves every address of a name; `dns.lookup` with `all: true` unless a test injects a fake resolver. */
export type AddressResolver = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const defaultResolver: AddressResolver = (hostname, options, callback) => dns.lookup(hostname, { ...options, all: true }, callback);

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect`/`tls.connect` that resolves normally, then refuses the whole answer when any address
 * in it is forbidden (a rebinding answer mixing a public and a private address is refused, not filtered).
 */
export function createGuardedLookup(policy: TargetPolicy, resolve: AddressResolver = defaultResolver) {
  return function guardedLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
    resolve(hostname, options, (err, addresses) => {
      if (err) return callback(err, []);
      for (const { address } of addresses) {
        const category = classifyAddress(address) ?? 'reserved';
        if (!isCategoryAllowed(category, policy)) {
          return callback(forbidden(`${hostname} (${address})`, category, 'after DNS resolution') as unknown as NodeJS.ErrnoException, []);
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

export interface GuardedConnectorOptions {
  policy: TargetPolicy;
  /** Connect timeout in milliseconds. */
  timeout?: number;
  /** Name resolution; the system resolver unless a test injects one (DNS rebinding tests). */
  resolve?: AddressResolver;
}


/**
 * An undici connector that enforces the policy on IP literals before connecting, on DNS answers through the lookup
 * hook, and on the connected socket's peer address as a last check (covers any path the first two miss).
 */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const base = buildConnector({ timeout: options.timeout ?? 10_000, lookup: createGuardedLookup(options.policy, options.resolve) } as buildConnector.BuildOptions);
  return function guardedConnect(opts: buildConnector.Options, callback: buildConnector.Callback): void {
    const literal = classifyHostName(opts.hostname);
    if (literal !== null && !isCategoryAllowed(literal, options.policy)) {
      callback(forbidden(opts.hostname, literal, 'at connect time'), null);
      return;
    }
    base(opts, (err, socket) => {
      if (err !== null) return callback(err, null);
      const peer = socket.remoteAddress;
      const category = peer === undefined ? 'reserved' : (classifyAddress(peer) ?? 'reserved');
      if (!isCategoryAllowed(category, options.policy)) {
        socket.destroy();
        return callback(forbidden(`${opts.hostname} (${peer ?? 'unknown peer'})`, category, 'on the connected socket'), null);
      }
      callback(null, socket);
    });
  };
}

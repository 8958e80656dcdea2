/**
 * Webhook signatures. Every delivery carries `Plugboard-Signature: t=<unix seconds>,v1=<hex>` where the hex is
 * HMAC-SHA256, keyed with the webhook's signing secret, over `<t>.<raw body>`. Binding the timestamp into the MAC lets a
 * receiver refuse replays: a signature older (or further in the future) than the tolerance, 300 seconds by default,
 * is rejected even though it is authentic. Several `v1=` entries may appear (one per secret during a rotation); any
 * one matching is enough. Comparison is constant-time. Receivers can import `verifyWebhookSignature` or reimplement
 * the ten lines it takes (docs/webhooks.md shows how).
 *
 * @see RFC 2104 (HMAC), FIPS 180-4 (SHA-256)
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'plugboard-signature';
export const SIGNATURE_SCHEME = 'v1';
/** How far a signature's timestamp may be from the receiver's clock, in seconds, before it counts as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes, base64url, with a recognisable prefix so secret scanners can find leaks. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

function mac(secret: string, timestamp: number, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  hmac.update(body);
  return hmac.digest('hex');
}

/** The header value for a body sent at `timestamp` (unix seconds). */
export function signWebhookPayload(secret: string, body: string | Uint8Array, timestamp: number = Math.floor(Date.now() / 1000)): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError('The signature timestamp must be a non-negative integer of unix seconds.');
  return `t=${timestamp},${SIGNATURE_SCHEME}=${mac(secret, timestamp, body)}`;
}

export type SignatureFailure = 'missing_header' | 'malformed_header' | 'timestamp_out_of_tolerance' | 'signature_mismatch';

export type SignatureVerification = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure; message: string };

export interface VerifyWebhookSignatureInput {
  /** The signing secret shown once when the webhook was created. Several during a rotation: any may match. */
  secret: string | readonly string[];
  /** The raw request body exactly as received (before any JSON parsing). */
  body: string | Uint8Array;
  /** The Plugboard-Signature header value. */
  header: string | undefined | null;
  toleranceSeconds?: number;
  /** The receiver's clock in unix seconds; defaults to now. */
  now?: number;
}

function parseHeader(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== null) return null;
      timestamp = Number(value);
    } else if (key === SIGNATURE_SCHEME) {
      if (!/^[0-9a-f]{64}$/.test(value)) return null;
      signatures.push(value);
    }
    // Unknown schemes are ignored so a future scheme can be added beside v1 without breaking receivers.
  }
  if (timestamp === null || signatures.length === 0) return null;
  return { timestamp, signatures };
}

/** Verifies a delivery: header shape, timestamp within tolerance, then a constant-time MAC comparison. */
export function verifyWebhookSignature(input: VerifyWebhookSignatureInput): SignatureVerification {
  if (input.header === undefined || input.header === null || input.header === '') {
    return { ok: false, reason: 'missing_header', message: 'The Plugboard-Signature header is missing.' };
  }
  const parsed = parseHeader(input.header);
  if (parsed === null) {
    return { ok: false, reason: 'malformed_header', message: 'The Plugboard-Signature header is not of the form t=<unix seconds>,v1=<64 hex digits>.' };
  }
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - parsed.timestamp) > tolerance) {
    return {
      ok: false,
      reason: 'timestamp_out_of_tolerance',
      message: `The signature timestamp is ${now - parsed.timestamp} s from now; at most ${tolerance} s is accepted (replay protection).`,
    };
  }
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(mac(secret, parsed.timestamp, input.body), 'hex');
    for (const candidate of parsed.signatures) {
      // Both are 32 bytes (the header parser enforces 64 hex digits), so timingSafeEqual never throws on length.
      if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
    }
  }
  if (!matched) return { ok: false, reason: 'signature_mismatch', message: 'No signature in the header matches the body and the signing secret.' };
  return { ok: true, timestamp: parsed.timestamp };
}

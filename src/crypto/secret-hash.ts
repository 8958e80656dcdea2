/**
 * Hashing and constant-time comparison of the credentials Plugboard issues (API keys, organization and user
 * secrets). They carry 256 bits of entropy, so one SHA-256 is enough (a slow password hash adds nothing against
 * brute force of a random 256-bit value) and keeps authentication cheap on every request. Credentials have the form
 * `<kind>_<lookup>_<secret>`: the lookup finds the row, the hash of the whole string is compared in constant time.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { newLookup, newSecret } from './random.ts';

export type CredentialKind = 'pb' | 'pbo' | 'pbu';

export interface IssuedCredential {
  /** The full credential, shown once to its owner and never stored. */
  value: string;
  lookup: string;
  hash: string;
}

// One-shot `hash`: no Hash object per call (it runs on every authenticated request).
export function hashSecret(value: string): string {
  return hash('sha256', value, 'hex');
}

/** Compares `value` with a stored hash in time independent of where they differ. */
export function secretMatches(value: string, storedHash: string): boolean {
  // Hex then Buffer.from: cheaper than `hash(..., 'buffer')`, whose Buffer output takes a slow allocation path.
  const actual = Buffer.from(hashSecret(value), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function issueCredential(kind: CredentialKind): IssuedCredential {
  const lookup = newLookup();
  const value = `${kind}_${lookup}_${newSecret()}`;
  return { value, lookup, hash: hashSecret(value) };
}

const CREDENTIAL = /^(pb|pbo|pbu)_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** Splits a presented credential; null when it is not of the expected kind and shape. */
export function parseCredential(value: string, kind: CredentialKind): { lookup: string } | null {
  const match = CREDENTIAL.exec(value);
  if (match === null || match[1] !== kind) return null;
  return { lookup: match[2] };
}

/**
 * Random identifiers and secrets. Ids are 128-bit, URL-safe and unguessable, so an id seen in one organization's
 * URL reveals nothing about another's; secrets are 256-bit. Both come from the OS CSPRNG.
 */
import { randomBytes } from 'node:crypto';

/** A new random row id: 22 URL-safe characters (128 bits). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** A new random secret: 43 URL-safe characters (256 bits). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A short lowercase hex string used as the public lookup half of a credential. */
export function newLookup(): string {
  return randomBytes(6).toString('hex');
}

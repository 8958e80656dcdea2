/**
 * Random identifiers and secrets. Ids are 128-bit, URL-safe and unguessable, so an id seen in one organization's
 * URL reveals nothing about another's; secrets are 256-bit. Both come from the OS CSPRNG.
 */
import { randomBytes } from 'node:crypto';

/**
 * A new random row id: 22 URL-safe characters (128 bits, less a sliver). An id never starts with `-`: command lines
 * would read it as an option (`plugboard connections show -x...`), so the 1 in 64 draws whose first character would
 * be `-` (the top six bits of the first byte are 62) are drawn again.
 */
export function newId(): string {
  for (;;) {
    const bytes = randomBytes(16);
    if (bytes[0]! >> 2 !== 62) return bytes.toString('base64url');
  }
}

/** A new random secret: 43 URL-safe characters (256 bits). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A short lowercase hex string used as the public lookup half of a credential. */
export function newLookup(): string {
  return randomBytes(6).toString('hex');
}

/**
 * `count` new row ids that sort by creation (a fixed-width millisecond timestamp, then the position in the call) and
 * stay unguessable (128 random bits after the prefix). For rows written in bulk: consecutive keys land on the same
 * index pages instead of scattering over the whole primary-key index. The random bits come from one CSPRNG call.
 */
export function newOrderedIds(count: number): string[] {
  const prefix = Date.now().toString(16).padStart(12, '0');
  const random = randomBytes(16 * count);
  const ids: string[] = new Array<string>(count);
  for (let i = 0; i < count; i += 1) {
    ids[i] = `${prefix}${i.toString(16).padStart(4, '0')}${random.toString('base64url', 16 * i, 16 * i + 16)}`;
  }
  return ids;
}

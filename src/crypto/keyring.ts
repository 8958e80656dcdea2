/**
 * The in-memory keyring: the data-key versions this process can use. Data keys (256-bit) seal every secret; they are
 * stored in the `keyring` table wrapped by the master key (envelope encryption), which is why rotating a data key
 * needs no restart and works the same whether the master key comes from PLUGBOARD_MASTER_KEY or `data/master.key`.
 * A version seals new secrets only from its `activatesAt` instant, after every process has reloaded the keyring, so
 * no process ever meets a version it cannot open.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { PlugboardError } from '../core/errors.ts';

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface DataKey {
  version: number;
  key: Buffer;
  activatesAt: number;
}

export class Keyring {
  readonly #keys = new Map<number, DataKey>();
  #sorted: DataKey[] = [];

  /** Replaces the whole set of versions (after a reload from the store). */
  replace(keys: readonly DataKey[]): void {
    this.#keys.clear();
    for (const k of keys) this.#keys.set(k.version, k);
    this.#sorted = [...keys].sort((a, b) => b.version - a.version);
  }

  get(version: number): Buffer | undefined {
    return this.#keys.get(version)?.key;
  }

  versions(): number[] {
    return this.#sorted.map((k) => k.version).reverse();
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The version new secrets are sealed with: the newest one already active. */
  current(now = Date.now()): DataKey {
    for (const k of this.#sorted) if (k.activatesAt <= now) return k;
    const oldest = this.#sorted.at(-1);
    if (oldest === undefined) throw new PlugboardError('MASTER_KEY_MISSING', 'The keyring is empty: the store was not initialised with a master key');
    return oldest;
  }
}

/** A master key: wraps data keys, never seals secrets directly. `check` identifies it without revealing it. */
export interface MasterKey {
  key: Buffer;
  check: string;
}

/** Key check value: a keyed hash of a constant, so a wrong key is detected before any secret is touched. */
export function masterKeyCheck(key: Buffer): string {
  return createHmac('sha256', key).update('plugboard master key check v1').digest('hex').slice(0, 32);
}

export function toMasterKey(key: Buffer): MasterKey {
  return { key, check: masterKeyCheck(key) };
}

function wrapAad(version: number): Buffer {
  return Buffer.from(`plugboard keyring v1 version ${version}`, 'utf8');
}

/** Seals a data key under a master key (AES-256-GCM, AAD = the version, so versions cannot be swapped). */
export function wrapDataKey(master: MasterKey, version: number, dataKey: Buffer): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', master.key, nonce);
  cipher.setAAD(wrapAad(version));
  const body = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
  return `${nonce.toString('base64url')}.${body.toString('base64url')}`;
}

export function unwrapDataKey(master: MasterKey, version: number, wrapped: string): Buffer {
  const [nonceText, bodyText] = wrapped.split('.');
  const nonce = Buffer.from(nonceText ?? '', 'base64url');
  const body = Buffer.from(bodyText ?? '', 'base64url');
  if (nonce.length !== NONCE_BYTES || body.length !== KEY_BYTES + TAG_BYTES) {
    throw new PlugboardError('MASTER_KEY_MISMATCH', `Keyring version ${version} is malformed in the store`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', master.key, nonce);
    decipher.setAAD(wrapAad(version));
    decipher.setAuthTag(body.subarray(KEY_BYTES));
    return Buffer.concat([decipher.update(body.subarray(0, KEY_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new PlugboardError('MASTER_KEY_MISMATCH', `Keyring version ${version} could not be unwrapped with the configured master key`, { cause });
  }
}

export function newDataKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/**
 * The vault seals every secret Plugboard stores (tokens, client secrets, passwords, connection API keys) with
 * AES-256-GCM under the current data key: a fresh 96-bit nonce per seal (NIST SP 800-38D §8.2.2, random IV
 * construction) and associated data binding the ciphertext to its organization, table, row and field, so a sealed
 * value copied to another row, field or tenant fails authentication instead of decrypting. The envelope is text:
 * `pb1.<keyVersion>.<nonce>.<ciphertext+tag>` (base64url), which lets the re-encryption task find rows by version
 * with a LIKE prefix.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { PlugboardError } from '../core/errors.ts';
import type { Keyring } from './keyring.ts';

export interface SealBinding {
  orgId: string;
  table: string;
  rowId: string;
  field: string;
}

export interface SealOptions {
  /**
   * The plaintext is a document holding secrets (the JSON of several revocation grants), not one secret value: it is
   * not handed to the secret scrubber as a whole (a whole document never appears in a log line, and the scrubber
   * would keep large documents in memory). The caller hands over the secret values inside with `rememberSecrets`.
   */
  document?: boolean;
}

export interface Vault {
  /** Seals `plaintext` for exactly one place: the binding must be given again, unchanged, to open it. */
  seal(plaintext: string, binding: SealBinding, options?: SealOptions): string;
  /** Opens a sealed value; throws VAULT_DECRYPT_FAILED when it was tampered with, moved or sealed with a lost key. */
  open(sealed: string, binding: SealBinding, options?: SealOptions): string;
  /** Hands secret values (from an opened document) to the secret scrubber, as opening each one would. */
  rememberSecrets(values: Iterable<string | null | undefined>): void;
  /** Key version inside an envelope, or null when the text is not an envelope. */
  versionOf(sealed: string): number | null;
  /** True for envelopes produced by `seal` (in any version). */
  isSealed(value: string): boolean;
  /** The version new seals use. */
  currentVersion(): number;
}

const PREFIX = 'pb1.';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ENVELOPE = /^pb1\.(\d{1,9})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/;

/** The LIKE pattern matching envelopes sealed with `version` (used by the re-encryption task). */
export function envelopePrefix(version: number): string {
  return `${PREFIX}${version}.`;
}

function aad(binding: SealBinding): Buffer {
  // A JSON array is unambiguous whatever characters the ids contain (no delimiter can be forged).
  return Buffer.from(JSON.stringify(['plugboard-seal-v1', binding.orgId, binding.table, binding.rowId, binding.field]), 'utf8');
}

// A raw key Buffer is turned into a KeyObject on every cipher call (about 3x the cost of the AES-GCM itself for a
// token); each data key is converted once instead.
const keyObjects = new WeakMap<Buffer, KeyObject>();
function keyObjectOf(key: Buffer): KeyObject {
  let object = keyObjects.get(key);
  if (object === undefined) {
    object = createSecretKey(key);
    keyObjects.set(key, object);
  }
  return object;
}

function decryptFailed(binding: SealBinding, reason: string): PlugboardError {
  // Names the place, never the value: the message may reach logs.
  return new PlugboardError('VAULT_DECRYPT_FAILED', `The sealed ${binding.table}.${binding.field} of row ${binding.rowId} could not be opened: ${reason}`);
}

export function createVault(keyring: Keyring, onSecret?: (plaintext: string) => void): Vault {
  return {
    seal(plaintext, binding, options) {
      const { version, key } = keyring.current();
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keyObjectOf(key), nonce);
      cipher.setAAD(aad(binding));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      if (options?.document !== true) onSecret?.(plaintext);
      return `${PREFIX}${version}.${nonce.toString('base64url')}.${body.toString('base64url')}`;
    },

    open(sealed, binding, options) {
      const match = ENVELOPE.exec(sealed);
      if (match === null) throw decryptFailed(binding, 'the stored value is not a sealed envelope');
      const version = Number(match[1]);
      const key = keyring.get(version);
      if (key === undefined) throw decryptFailed(binding, `key version ${version} is not in this keyring`);
      const nonce = Buffer.from(match[2], 'base64url');
      const body = Buffer.from(match[3], 'base64url');
      if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw decryptFailed(binding, 'the envelope is truncated');
      let plaintext: string;
      try {
        const decipher = createDecipheriv('aes-256-gcm', keyObjectOf(key), nonce);
        decipher.setAAD(aad(binding));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        plaintext = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw decryptFailed(binding, 'authentication failed (tampered, moved to another row or organization, or wrong key)');
      }
      if (options?.document !== true) onSecret?.(plaintext);
      return plaintext;
    },

    rememberSecrets(values) {
      if (onSecret === undefined) return;
      for (const value of values) if (typeof value === 'string') onSecret(value);
    },

    versionOf(sealed) {
      const match = ENVELOPE.exec(sealed);
      return match === null ? null : Number(match[1]);
    },

    isSealed(value) {
      return ENVELOPE.test(value);
    },

    currentVersion() {
      return keyring.current().version;
    },
  };
}

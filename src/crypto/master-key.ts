/**
 * Where the master key comes from. PLUGBOARD_MASTER_KEY holds one or more base64 keys of 32 bytes, comma separated:
 * the first is current (it wraps data keys), the others are previous master keys still accepted, so the master key
 * itself can be replaced by listing `new,old` for one start (the keyring is re-wrapped under `new`) and then `new`
 * alone. In embedded mode only, when no variable is set, the key lives in `<dataDir>/master.key` (mode 0600, same
 * format), generated on the first start of an empty store. A store that already holds a keyring never gets a new
 * key silently: a missing key stops start-up.
 */
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PlugboardError } from '../core/errors.ts';
import { KEY_BYTES, toMasterKey, type MasterKey } from './keyring.ts';

export const MASTER_KEY_FILE = 'master.key';

export interface MasterKeySource {
  keys: MasterKey[];
  source: 'env' | 'file';
  /** Set when the key file was created by this call. */
  generatedFile?: string;
}

/** Parses `key[,key...]`; `origin` names where the text came from for the error message. */
export function parseMasterKeys(text: string, origin: string): MasterKey[] {
  const parts = text.split(/[,\s]+/).filter((p) => p !== '');
  if (parts.length === 0) throw new PlugboardError('MASTER_KEY_MISSING', `${origin} is empty; it must hold a base64 key of 32 bytes (generate one with: openssl rand -base64 32)`);
  return parts.map((part, index) => {
    const key = Buffer.from(part, part.includes('-') || part.includes('_') ? 'base64url' : 'base64');
    if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/_-]+=*$/.test(part)) {
      throw new PlugboardError('MASTER_KEY_MISSING', `Key ${index + 1} in ${origin} is not base64 of 32 bytes (it decodes to ${key.length} bytes); generate one with: openssl rand -base64 32`);
    }
    return toMasterKey(key);
  });
}

export interface ResolveOptions {
  masterKey?: string;
  dataDir: string;
  embedded: boolean;
  /** True when the store has no keyring yet (first start). */
  freshStore: boolean;
}

export function resolveMasterKeys(options: ResolveOptions): MasterKeySource {
  if (options.masterKey !== undefined) return { keys: parseMasterKeys(options.masterKey, 'PLUGBOARD_MASTER_KEY'), source: 'env' };
  if (!options.embedded) {
    throw new PlugboardError('MASTER_KEY_MISSING', 'PLUGBOARD_MASTER_KEY is not set. With DATABASE_URL (PostgreSQL) the master key must come from the environment: set PLUGBOARD_MASTER_KEY to base64 of 32 random bytes (openssl rand -base64 32), the same on every process, and keep a copy safe.');
  }
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) return { keys: parseMasterKeys(readFileSync(file, 'utf8'), file), source: 'file' };
  if (!options.freshStore) {
    throw new PlugboardError('MASTER_KEY_MISSING', `The store in ${options.dataDir} holds encrypted secrets but ${file} is missing and PLUGBOARD_MASTER_KEY is not set. Restore the master key file from your backup (or set PLUGBOARD_MASTER_KEY); a new key cannot open the existing secrets.`);
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  // 'wx' never overwrites a key another process wrote a moment ago.
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { keys: [toMasterKey(key)], source: 'file', generatedFile: file };
}

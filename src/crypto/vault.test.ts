/**
 * Unit tests of the vault and keyring: round trips, a fresh nonce per seal, and (mostly) the ways a sealed value must
 * fail closed: any change to the binding, any flipped bit, a truncated or rewritten envelope, an unknown key version,
 * a wrong master key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createVault, envelopePrefix, type SealBinding } from './vault.ts';
import { Keyring, masterKeyCheck, newDataKey, toMasterKey, unwrapDataKey, wrapDataKey } from './keyring.ts';
import { isPlugboardError } from '../core/errors.ts';

const binding: SealBinding = { orgId: 'org-a', table: 'connections', rowId: 'row-1', field: 'access_token' };

function vaultWith(...versions: Array<{ version: number; activatesAt?: number }>) {
  const keyring = new Keyring();
  keyring.replace(versions.map((v) => ({ version: v.version, key: newDataKey(), activatesAt: v.activatesAt ?? 0 })));
  return { keyring, vault: createVault(keyring) };
}

function assertFailsClosed(fn: () => unknown, secret?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isPlugboardError(error));
    assert.equal(error.code, 'VAULT_DECRYPT_FAILED');
    if (secret !== undefined) assert.ok(!error.message.includes(secret), 'the error names the place, never the value');
    return true;
  });
}

test('seal then open returns the plaintext, including empty and non-ASCII text', () => {
  const { vault } = vaultWith({ version: 1 });
  for (const plaintext of ['token-123', '', 'ünïcødé ✓ 🔑', 'x'.repeat(10_000)]) {
    assert.equal(vault.open(vault.seal(plaintext, binding), binding), plaintext);
  }
});

test('every seal uses a fresh nonce, so equal plaintexts give different envelopes', () => {
  const { vault } = vaultWith({ version: 1 });
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(vault.seal('same', binding).split('.')[2]);
  assert.equal(seen.size, 200);
});

test('the envelope carries the key version and never the plaintext', () => {
  const { vault } = vaultWith({ version: 7 });
  const sealed = vault.seal('super-secret-value', binding);
  assert.ok(sealed.startsWith(envelopePrefix(7)));
  assert.equal(vault.versionOf(sealed), 7);
  assert.ok(vault.isSealed(sealed));
  assert.ok(!sealed.includes('super-secret-value'));
});

for (const field of ['orgId', 'table', 'rowId', 'field'] as const) {
  test(`a ciphertext moved to another ${field} fails to open`, () => {
    const { vault } = vaultWith({ version: 1 });
    const sealed = vault.seal('secret-moved', binding);
    assertFailsClosed(() => vault.open(sealed, { ...binding, [field]: `${binding[field]}-other` }), 'secret-moved');
  });
}

test('binding parts cannot be shifted between fields to forge the same associated data', () => {
  const { vault } = vaultWith({ version: 1 });
  const sealed = vault.seal('s', { orgId: 'a', table: 'b.c', rowId: 'd', field: 'e' });
  assertFailsClosed(() => vault.open(sealed, { orgId: 'a', table: 'b', rowId: 'c.d', field: 'e' }));
});

test('flipping any single character of the ciphertext or nonce fails closed', () => {
  const { vault } = vaultWith({ version: 1 });
  const sealed = vault.seal('flip-me', binding);
  const start = envelopePrefix(1).length;
  for (let i = start; i < sealed.length; i++) {
    if (sealed[i] === '.') continue;
    const replacement = sealed[i] === 'A' ? 'B' : 'A';
    const tampered = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
    // base64url padding bits may decode to the same bytes; only a real change must fail.
    if (Buffer.from(tampered.slice(start).replace(/\./g, ''), 'base64url').equals(Buffer.from(sealed.slice(start).replace(/\./g, ''), 'base64url'))) continue;
    assertFailsClosed(() => vault.open(tampered, binding));
  }
});

test('a truncated, empty or non-envelope value fails closed', () => {
  const { vault } = vaultWith({ version: 1 });
  const sealed = vault.seal('t', binding);
  for (const bad of ['', 'plain text', sealed.slice(0, -10), sealed.slice(0, 20), `pb2${sealed.slice(3)}`, `${sealed}.extra`]) {
    assertFailsClosed(() => vault.open(bad, binding));
  }
});

test('rewriting the version in the envelope fails closed (unknown version or wrong key)', () => {
  const { vault } = vaultWith({ version: 1 }, { version: 2, activatesAt: Date.now() + 60_000 });
  const sealed = vault.seal('v', binding);
  assert.equal(vault.versionOf(sealed), 1);
  assertFailsClosed(() => vault.open(sealed.replace(/^pb1\.1\./, 'pb1.2.'), binding));
  assertFailsClosed(() => vault.open(sealed.replace(/^pb1\.1\./, 'pb1.9.'), binding));
});

test('new seals use the newest version already active; a pending version only opens', () => {
  const now = Date.now();
  const { vault, keyring } = vaultWith({ version: 1 }, { version: 2, activatesAt: now + 60_000 });
  assert.equal(vault.currentVersion(), 1);
  keyring.replace([{ version: 1, key: keyring.get(1)!, activatesAt: 0 }, { version: 2, key: keyring.get(2)!, activatesAt: now - 1 }]);
  assert.equal(vault.currentVersion(), 2);
});

test('an empty keyring refuses to seal', () => {
  const vault = createVault(new Keyring());
  assert.throws(() => vault.seal('x', binding), (e: unknown) => isPlugboardError(e) && e.code === 'MASTER_KEY_MISSING');
});

test('the vault reports every plaintext it seals or opens (for log scrubbing)', () => {
  const seen: string[] = [];
  const keyring = new Keyring();
  keyring.replace([{ version: 1, key: newDataKey(), activatesAt: 0 }]);
  const vault = createVault(keyring, (p) => seen.push(p));
  vault.open(vault.seal('remember-me', binding), binding);
  assert.deepEqual(seen, ['remember-me', 'remember-me']);
});

test('a sealed document is not reported whole; the caller reports the secrets inside it', () => {
  const seen: string[] = [];
  const keyring = new Keyring();
  keyring.replace([{ version: 1, key: newDataKey(), activatesAt: 0 }]);
  const vault = createVault(keyring, (p) => seen.push(p));
  const document = JSON.stringify({ a: { token: 'token-of-a' }, b: { token: 'token-of-b' } });
  const sealed = vault.seal(document, binding, { document: true });
  assert.equal(vault.open(sealed, binding, { document: true }), document);
  // Same envelope format: an ordinary open works too (and reports it).
  assert.equal(vault.open(sealed, binding), document);
  assert.deepEqual(seen, [document]);
  vault.rememberSecrets(['token-of-a', null, undefined, 'token-of-b']);
  assert.deepEqual(seen, [document, 'token-of-a', 'token-of-b']);
});

test('a data key unwraps only with the master key and version that wrapped it', () => {
  const master = toMasterKey(randomBytes(32));
  const other = toMasterKey(randomBytes(32));
  const dataKey = newDataKey();
  const wrapped = wrapDataKey(master, 3, dataKey);
  assert.deepEqual(unwrapDataKey(master, 3, wrapped), dataKey);
  assert.throws(() => unwrapDataKey(other, 3, wrapped), (e: unknown) => isPlugboardError(e) && e.code === 'MASTER_KEY_MISMATCH');
  assert.throws(() => unwrapDataKey(master, 4, wrapped), (e: unknown) => isPlugboardError(e) && e.code === 'MASTER_KEY_MISMATCH');
  assert.throws(() => unwrapDataKey(master, 3, 'garbage'), (e: unknown) => isPlugboardError(e) && e.code === 'MASTER_KEY_MISMATCH');
});

test('the key check value identifies a master key without revealing it', () => {
  const key = randomBytes(32);
  assert.equal(masterKeyCheck(key), masterKeyCheck(Buffer.from(key)));
  assert.notEqual(masterKeyCheck(key), masterKeyCheck(randomBytes(32)));
  assert.ok(!masterKeyCheck(key).includes(key.toString('hex').slice(0, 8)));
});

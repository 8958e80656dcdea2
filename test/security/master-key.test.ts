/**
 * The master key must fit the store: a missing or wrong key stops start-up with a clear message (never a crash
 * later), in-process and through `plugboard start`. Also: the embedded key file is created 0600 only for an empty
 * store, PostgreSQL demands PLUGBOARD_MASTER_KEY, and the master key itself can be replaced by listing `new,old`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp } from '../support/app.ts';
import { BACKENDS, createTestDatabase } from '../support/database.ts';
import { isPlugboardError } from '../../src/core/errors.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function expectCode(code: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(isPlugboardError(error), String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

test('embedded mode generates master.key with mode 0600 on first start and reuses it', async () => {
  const database = await createTestDatabase('sqlite');
  try {
    const first = await startTestApp({ database });
    const file = path.join(database.dataDir, 'master.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(database.dataDir, 'admin-credentials')).mode & 0o777, 0o600);
    assert.ok(first.logs.join('').includes('generated a new master key'));
    const sealed = first.ctx.vault.seal('kept', { orgId: 'o', table: 't', rowId: 'r', field: 'f' });
    const keyText = readFileSync(file, 'utf8');
    await first.close();
    const second = await startTestApp({ database });
    assert.equal(readFileSync(file, 'utf8'), keyText);
    assert.equal(second.ctx.vault.open(sealed, { orgId: 'o', table: 't', rowId: 'r', field: 'f' }), 'kept');
    assert.ok(!second.logs.join('').includes('generated a new master key'));
    await second.close();
  } finally {
    await database.drop();
  }
});

test('a wrong, missing or malformed master key for an existing store stops start-up with a clear message', async () => {
  const database = await createTestDatabase('sqlite');
  try {
    await (await startTestApp({ database })).close();
    const wrong = randomBytes(32).toString('base64');
    await assert.rejects(startTestApp({ database, config: { masterKey: wrong } }), expectCode('MASTER_KEY_MISMATCH', /does not match this store/));
    const file = path.join(database.dataDir, 'master.key');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, 'not a key\n');
    await assert.rejects(startTestApp({ database }), expectCode('MASTER_KEY_MISSING', /not base64 of 32 bytes/));
    rmSync(file);
    await assert.rejects(startTestApp({ database }), expectCode('MASTER_KEY_MISSING', /master\.key is missing.*Restore/));
    writeFileSync(file, original, { mode: 0o600 });
    await (await startTestApp({ database })).close();
  } finally {
    await database.drop();
  }
});

test('plugboard start with a wrong key exits 1 with one readable line and no stack trace', async () => {
  const database = await createTestDatabase('sqlite');
  try {
    await (await startTestApp({ database })).close();
    const result = spawnSync(process.execPath, [MAIN, 'start', '--port', '0', '--no-sandbox', '--data-dir', database.dataDir], {
      env: { PATH: process.env.PATH ?? '', PLUGBOARD_MASTER_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /^plugboard: The configured master key does not match this store/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  } finally {
    await database.drop();
  }
});

test('the master key is replaced by listing the new key first and the old one after it for one start', async () => {
  const database = await createTestDatabase('sqlite');
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  const binding = { orgId: 'o', table: 't', rowId: 'r', field: 'f' };
  try {
    const first = await startTestApp({ database, config: { masterKey: oldKey } });
    const sealed = first.ctx.vault.seal('survives', binding);
    await first.close();
    const both = await startTestApp({ database, config: { masterKey: `${newKey},${oldKey}` } });
    assert.equal(both.ctx.vault.open(sealed, binding), 'survives');
    await both.close();
    const fresh = await startTestApp({ database, config: { masterKey: newKey } });
    assert.equal(fresh.ctx.vault.open(sealed, binding), 'survives');
    await fresh.close();
    await assert.rejects(startTestApp({ database, config: { masterKey: oldKey } }), expectCode('MASTER_KEY_MISMATCH', /does not match/));
  } finally {
    await database.drop();
  }
});

test('PostgreSQL requires PLUGBOARD_MASTER_KEY (no key file is ever generated)', { skip: !BACKENDS.includes('postgres') }, async () => {
  const database = await createTestDatabase('postgres');
  try {
    await assert.rejects(startTestApp({ database, withoutMasterKey: true }), expectCode('MASTER_KEY_MISSING', /PLUGBOARD_MASTER_KEY is not set/));
  } finally {
    await database.drop();
  }
});

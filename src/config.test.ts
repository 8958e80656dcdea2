/**
 * Unit tests of configuration loading: defaults, overrides, and one clear error listing every bad setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadConfig, isEmbedded } from './config.ts';
import { isPlugboardError } from './core/errors.ts';

test('defaults: loopback 8080, embedded store in ./data, sandbox on 8081', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.dataDir, path.resolve('data'));
  assert.equal(c.databaseUrl, undefined);
  assert.ok(isEmbedded(c));
  assert.deepEqual(c.sandbox, { enabled: true, host: '127.0.0.1', port: 8081 });
  assert.equal(c.publicUrl, 'http://localhost:8080');
  assert.equal(c.logLevel, 'info');
});

test('environment variables and then overrides win', () => {
  const c = loadConfig({ PORT: '9000', DATABASE_URL: 'postgres://u@h/db', SANDBOX: 'off', LOG_LEVEL: 'warn' }, { port: 9100 });
  assert.equal(c.port, 9100);
  assert.equal(c.databaseUrl, 'postgres://u@h/db');
  assert.equal(c.sandbox.enabled, false);
  assert.equal(c.logLevel, 'warn');
  assert.equal(isEmbedded(c), false);
});

test('every bad setting is reported at once, naming the variable and what is expected', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', SANDBOX: 'maybe', PLUGBOARD_PUBLIC_URL: 'ftp://x', PLUGBOARD_BODY_LIMIT: '5' }),
    (e: unknown) => {
      assert.ok(isPlugboardError(e) && e.code === 'VALIDATION_FAILED');
      const paths = (e.details ?? []).map((d) => d.path);
      assert.deepEqual(paths.sort(), ['env.DATABASE_URL', 'env.LOG_LEVEL', 'env.PLUGBOARD_BODY_LIMIT', 'env.PLUGBOARD_PUBLIC_URL', 'env.PORT', 'env.SANDBOX'].sort());
      assert.match(e.message, /PORT: expected an integer from 0 to 65535, got "eighty"/);
      return true;
    },
  );
});

test('ports out of range are refused', () => {
  assert.throws(() => loadConfig({ PORT: '70000' }), /PORT/);
  assert.throws(() => loadConfig({ SANDBOX_PORT: '-1' }), /SANDBOX_PORT/);
});

test('every setting is documented in the README and docs/configuration.md', async () => {
  const { readFileSync } = await import('node:fs');
  const { ENVIRONMENT } = await import('./config.ts');
  for (const file of ['../README.md', '../docs/configuration.md']) {
    const text = readFileSync(new URL(file, import.meta.url), 'utf8');
    const missing = ENVIRONMENT.filter((e) => !text.includes(`| \`${e.name}\` |`)).map((e) => e.name);
    assert.deepEqual(missing, [], `${file} lacks rows for ${missing.join(', ')}`);
  }
});

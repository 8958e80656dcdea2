/**
 * Unit tests of configuration loading: defaults, overrides, and one clear error listing every bad setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, isEmbedded, ENVIRONMENT, TEST_ENVIRONMENT } from './config.ts';
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

test('every setting is documented in the README and docs/configuration.md', () => {
  for (const file of ['../README.md', '../docs/configuration.md']) {
    const text = readFileSync(new URL(file, import.meta.url), 'utf8');
    const missing = [...ENVIRONMENT, ...TEST_ENVIRONMENT].filter((e) => !text.includes(`| \`${e.name}\` |`)).map((e) => e.name);
    assert.deepEqual(missing, [], `${file} lacks rows for ${missing.join(', ')}`);
  }
});

/**
 * The environment variables a source text reads: `process.env.X`, `env.X`, `env['X']`, `process.env[...]`-style
 * helpers called with a literal name (`fromEnvironment('X', ...)`), and config.ts's own readers (`text('X')`).
 */
function environmentReads(source: string): string[] {
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g,
    /\b(?:text|integer|onOff|fromEnvironment)\(\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g,
  ];
  return [...new Set(patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1])))].sort();
}

test('the source scan finds every form of environment read', () => {
  const sample = "process.env.ALPHA; env.BETA ?? x; env['GAMMA']; fromEnvironment('DELTA', 1); integer('EPSILON', 1, 0, 2); envy.NOT_ME";
  assert.deepEqual(environmentReads(sample), ['ALPHA', 'BETA', 'DELTA', 'EPSILON', 'GAMMA']);
});

test('every environment variable read anywhere in src/ is in the ENVIRONMENT registry (so in both docs)', () => {
  const root = new URL('./', import.meta.url);
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const registered = new Set<string>(ENVIRONMENT.map((e) => e.name));
  const unregistered: string[] = [];
  let reads = 0;
  for (const file of files) {
    for (const name of environmentReads(readFileSync(new URL(file, root), 'utf8'))) {
      reads += 1;
      if (!registered.has(name)) unregistered.push(`${name} (src/${file})`);
    }
  }
  assert.ok(reads >= ENVIRONMENT.length, `the scan found only ${reads} reads: is the pattern still right?`);
  assert.deepEqual(unregistered, [], `add these to ENVIRONMENT in src/config.ts and to both docs tables: ${unregistered.join(', ')}`);
});

test('test-only variables are read by the tests or benchmarks and never by the server source', () => {
  const read = (dir: string) => readdirSync(new URL(dir, import.meta.url), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts')).map((f) => readFileSync(new URL(`${dir}${f}`, import.meta.url), 'utf8')).join('\n');
  const testSources = read('../test/') + read('../bench/');
  for (const { name } of TEST_ENVIRONMENT) {
    assert.ok(testSources.includes(name), `${name} is documented as test-only but no test or benchmark reads it`);
    assert.ok(!ENVIRONMENT.some((e) => (e.name as string) === name), `${name} is in both registries`);
  }
});

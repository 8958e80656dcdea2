/**
 * Every error code of the registry (src/core/errors.ts) is documented in docs/errors.md with its HTTP status; a code
 * added without documentation, or documented with the wrong status, fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../src/core/errors.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

test('docs/errors.md lists every error code with its HTTP status', () => {
  const missing: string[] = [];
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    const row = new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`, 'm');
    if (!row.test(doc)) missing.push(`${code} (${status})`);
  }
  assert.deepEqual(missing, [], `add a row "| \`CODE\` | status | meaning |" to docs/errors.md for: ${missing.join(', ')}`);
});

test('docs/errors.md documents no code that the registry lacks', () => {
  const documented = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
  const unknown = documented.filter((code) => !(code in ERROR_CODES));
  assert.deepEqual(unknown, []);
});

test('every registered code is raised somewhere in src/ (an unused code is a promise the API does not keep)', async () => {
  const { readdirSync } = await import('node:fs');
  const root = new URL('../../src/', import.meta.url);
  const sources = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && file !== 'core/errors.ts')
    .map((file) => readFileSync(new URL(file, root), 'utf8'))
    .join('\n');
  const unused = Object.keys(ERROR_CODES).filter((code) => !sources.includes(`'${code}'`));
  assert.deepEqual(unused, [], `remove these codes from src/core/errors.ts and docs/errors.md, or raise them: ${unused.join(', ')}`);
});

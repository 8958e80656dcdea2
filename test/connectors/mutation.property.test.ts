/**
 * Property: any mutation of a valid connector file either loads as a whole definition or fails with located problems.
 * Never a crash, never a partial definition. Mutations work on the text (characters, lines, truncation) and on the
 * parsed value (a field set to an arbitrary JSON value or removed), starting from every built-in file.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConnectorText, type ParseResult } from '../../src/connectors/load.ts';
import { ConnectorDefinitionSchema } from '../../src/connectors/schema.ts';
import { BUILTIN_CONNECTOR_DIR } from '../../src/connectors/registry.ts';

const files = (await readdir(BUILTIN_CONNECTOR_DIR)).filter((name) => name.endsWith('.yaml')).sort();
const sources = await Promise.all(files.map(async (name) => ({ name, text: await readFile(`${BUILTIN_CONNECTOR_DIR}/${name}`, 'utf8') })));

function checkOutcome(result: ParseResult, file: string): void {
  if (result.ok) {
    // Whole, not partial: the value passes the full schema again, with every required part present.
    assert.equal(ConnectorDefinitionSchema.safeParse(result.definition).success, true);
    assert.equal(typeof result.definition.key, 'string');
    assert.equal(typeof result.definition.auth.type, 'string');
    assert.ok(Array.isArray(result.definition.flows));
    return;
  }
  assert.ok(result.problems.length > 0, 'a failure names at least one problem');
  for (const problem of result.problems) {
    assert.equal(problem.file, file);
    assert.ok(problem.message.length > 0, 'each problem says what is expected');
    assert.ok(problem.path !== '' || problem.line !== undefined || /larger than/.test(problem.message), `located: ${JSON.stringify(problem)}`);
    if (problem.line !== undefined) assert.ok(problem.line >= 1);
  }
}

const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), with: fc.string({ maxLength: 4 }) }),
  fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
);
type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateText(text: string, m: TextMutation): string {
  const lines = text.split('\n');
  switch (m.kind) {
    case 'replace': {
      const at = m.at % Math.max(text.length, 1);
      return text.slice(0, at) + m.with + text.slice(at + 1);
    }
    case 'truncate':
      return text.slice(0, m.at % Math.max(text.length, 1));
    case 'delete-line':
      lines.splice(m.at % lines.length, 1);
      return lines.join('\n');
    case 'duplicate-line': {
      const at = m.at % lines.length;
      lines.splice(at, 0, lines[at]);
      return lines.join('\n');
    }
    case 'swap-lines': {
      const a = m.at % lines.length;
      const b = m.other % lines.length;
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return lines.join('\n');
    }
    case 'indent': {
      const at = m.at % lines.length;
      lines[at] = m.by >= 0 ? ' '.repeat(m.by) + lines[at] : lines[at].slice(-m.by);
      return lines.join('\n');
    }
  }
}

test('every built-in file is a valid starting point', () => {
  assert.ok(sources.length > 0);
  for (const { name, text } of sources) checkOutcome(parseConnectorText(text, name), name);
});

test('text mutations load whole or fail located', () => {
  fc.assert(
    fc.property(fc.constantFrom(...sources), fc.array(textMutation, { minLength: 1, maxLength: 3 }), (source, mutations) => {
      const text = mutations.reduce(mutateText, source.text);
      checkOutcome(parseConnectorText(text, source.name), source.name);
    }),
    { numRuns: 200 },
  );
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path in a parsed document, so the structural mutation can aim anywhere. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...paths(item, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function setAt(root: Json, path: (string | number)[], replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null;
  const clone = structuredClone(root);
  let node = clone as Record<string | number, Json>;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (replacement === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = replacement;
  return clone;
}

test('structural mutations (a field replaced by any JSON value, or removed) load whole or fail located', async () => {
  const { parse } = await import('yaml');
  const documents = sources.map((s) => ({ name: s.name, value: parse(s.text) as Json }));
  fc.assert(
    fc.property(
      fc.constantFrom(...documents),
      fc.nat(),
      fc.option(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, { nil: undefined }),
      (doc, pick, replacement) => {
        const all = paths(doc.value);
        const mutated = setAt(doc.value, all[pick % all.length], replacement);
        checkOutcome(parseConnectorText(stringify(mutated), doc.name), doc.name);
      },
    ),
    { numRuns: 200 },
  );
});

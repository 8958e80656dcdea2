/**
 * The built-in catalogue: every file in `connectors/` loads, carries the `$schema` header, and has a unique key; a
 * failing compile leaves that connector out with a located error and keeps the others.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { loadCatalogue, BUILTIN_CONNECTOR_DIR, builtinCatalogue } from '../../src/connectors/registry.ts';
import { PlugboardError } from '../../src/core/errors.ts';

test('every built-in connector file loads without error', async () => {
  const catalogue = await loadCatalogue();
  assert.deepEqual(catalogue.errors.map((e) => e.details), []);
  const files = (await readdir(BUILTIN_CONNECTOR_DIR)).filter((name) => name.endsWith('.yaml'));
  assert.equal(catalogue.entries.length, files.length);
  assert.ok(catalogue.get('sandbox'));
  assert.equal(catalogue.get('no-such-connector'), undefined);
});

test('every built-in file names the JSON Schema so editors validate it', async () => {
  for (const name of (await readdir(BUILTIN_CONNECTOR_DIR)).filter((n) => n.endsWith('.yaml'))) {
    const text = await readFile(`${BUILTIN_CONNECTOR_DIR}/${name}`, 'utf8');
    assert.ok(text.startsWith('# yaml-language-server: $schema=./connector.schema.json\n'), `${name} lacks the schema header`);
    assert.match(text, /^\$schema: \.\/connector\.schema\.json$/m, name);
  }
});

test('only the sandbox connectors opt in to insecure targets', async () => {
  const catalogue = await loadCatalogue();
  for (const entry of catalogue.entries) {
    const insecure = entry.definition.dangerouslyAllowInsecureTargets;
    if (!entry.key.startsWith('sandbox')) assert.deepEqual(insecure, { plainHttp: false, privateNetwork: false }, entry.key);
  }
});

test('a connector whose flows fail to compile is left out with a located error; the rest load', async () => {
  const catalogue = await loadCatalogue({
    compile: (definition, file) => {
      if (definition.key === 'sandbox') throw new PlugboardError('FLOW_COMPILE_FAILED', 'bad flow', { details: [{ path: `${file} flows[0]`, message: 'broken' }] });
      return { compiledKey: definition.key };
    },
  });
  assert.equal(catalogue.get('sandbox'), undefined);
  assert.equal(catalogue.errors.length, 1);
  assert.equal(catalogue.errors[0].code, 'FLOW_COMPILE_FAILED');
  for (const entry of catalogue.entries) assert.deepEqual(entry.compiled, { compiledKey: entry.key });
});

test('an unexpected compiler crash becomes a located CONNECTOR_INVALID error, not a crash', async () => {
  const catalogue = await loadCatalogue({
    compile: (definition) => {
      if (definition.key === 'sandbox') throw new TypeError('boom');
      return null;
    },
  });
  const error = catalogue.errors.find((e) => e.details?.some((d) => d.path.startsWith('connectors/sandbox.yaml')));
  assert.ok(error);
  assert.equal(error.code, 'CONNECTOR_INVALID');
  assert.match(error.details?.[0].message ?? '', /boom/);
});

test('the process-wide catalogue is loaded once', async () => {
  assert.equal(builtinCatalogue(), builtinCatalogue());
  const catalogue = await builtinCatalogue();
  assert.ok(Object.isFrozen(catalogue.entries));
});

test('every built-in connector compiles, has an httpHelper and a revoke flow', async () => {
  const catalogue = await builtinCatalogue();
  assert.deepEqual(catalogue.errors.map((e) => [e.message, e.details]), []);
  for (const entry of catalogue.entries) {
    assert.ok(entry.compiled, entry.key);
    assert.ok(Object.hasOwn(entry.compiled.flows, 'httpHelper'), `${entry.key} lacks httpHelper`);
    assert.ok(entry.compiled.revoke, `${entry.key} lacks a revoke flow`);
  }
});

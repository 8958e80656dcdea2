/**
 * Connector definition loading: every problem is located (file, path inside it, line and column) and says what is
 * expected; a bad file never loads halfway and never takes a good one down; defaults are the safe ones.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConnector, parseConnectorText, loadConnectorDirectory, loadConnectorFile, type ConnectorProblem } from '../../src/connectors/load.ts';
import { isPlugboardError } from '../../src/core/errors.ts';

const MINIMAL = `key: acme
name: Acme
baseUrl: https://api.acme.example
auth:
  type: oauth2_authorization_code
  authorizationUrl: https://acme.example/oauth/authorize
  tokenUrl: https://acme.example/oauth/token
`;

function problems(text: string, file = 'acme.yaml'): ConnectorProblem[] {
  const result = parseConnectorText(text, file);
  assert.equal(result.ok, false, 'expected the definition to be rejected');
  return result.ok ? [] : result.problems;
}

function only(text: string, path: string): ConnectorProblem {
  const found = problems(text).filter((p) => p.path === path);
  assert.equal(found.length, 1, `expected one problem at ${path}, got ${JSON.stringify(problems(text))}`);
  return found[0];
}

test('a minimal OAuth definition loads with safe defaults', () => {
  const def = parseConnector(MINIMAL, 'acme.yaml');
  assert.equal(def.key, 'acme');
  assert.equal(def.auth.type, 'oauth2_authorization_code');
  if (def.auth.type !== 'oauth2_authorization_code') return;
  assert.equal(def.auth.pkce, true);
  assert.equal(def.auth.clientAuthentication, 'client_secret_basic');
  assert.deepEqual(def.auth.apply, { in: 'bearer', scheme: 'Bearer' });
  assert.equal(def.auth.tokenResponse.accessToken, 'access_token');
  assert.deepEqual(def.dangerouslyAllowInsecureTargets, { plainHttp: false, privateNetwork: false });
  assert.equal(def.unregisterUrl, null);
  assert.deepEqual(def.flows, []);
});

test('JSON text is accepted too (the deploy endpoint takes JSON or YAML)', () => {
  const def = parseConnector(JSON.stringify({ key: 'k1', name: 'K', baseUrl: 'https://k.example', auth: { type: 'basic' } }), 'body');
  assert.equal(def.auth.type, 'basic');
  assert.deepEqual(def.auth.apply, { in: 'basic' });
});

test('a missing tokenUrl is reported at auth.tokenUrl with the line of auth', () => {
  const p = only(MINIMAL.replace('  tokenUrl: https://acme.example/oauth/token\n', ''), 'auth.tokenUrl');
  assert.equal(p.file, 'acme.yaml');
  assert.match(p.message, /^missing: expected/);
  assert.equal(p.line, 5, 'the nearest existing node is the auth mapping');
});

test('a malformed URL is located on its own line and column', () => {
  const p = only(MINIMAL.replace('tokenUrl: https://acme.example/oauth/token', 'tokenUrl: not a url'), 'auth.tokenUrl');
  assert.equal(p.line, 7);
  assert.equal(p.column, 13);
  assert.match(p.message, /absolute http\(s\) URL/);
});

test('an unknown key is named with its path and a hint', () => {
  const p = only(`${MINIMAL}  tokenURL: https://x.example\n`, 'auth.tokenURL');
  assert.match(p.message, /unknown key "tokenURL"/);
  assert.equal(p.line, 8);
});

test('an unknown auth type lists the valid ones', () => {
  const p = only(MINIMAL.replace('oauth2_authorization_code', 'oauth1'), 'auth.type');
  assert.match(p.message, /oauth2_authorization_code, oauth2_client_credentials, basic, custom/);
});

test('plain HTTP targets need the loud opt-in', () => {
  const p = only(MINIMAL.replace('baseUrl: https://', 'baseUrl: http://'), 'baseUrl');
  assert.match(p.message, /dangerouslyAllowInsecureTargets\.plainHttp/);
  assert.equal(parseConnectorText(`${MINIMAL.replace('baseUrl: https://', 'baseUrl: http://')}dangerouslyAllowInsecureTargets: { plainHttp: true }\n`, 'a').ok, true);
});

test('private and loopback hosts need the loud opt-in, even over https', () => {
  for (const host of ['127.0.0.1:8443', 'localhost', '10.1.2.3', '192.168.0.7', '172.20.0.1', '169.254.169.254', '[::1]', '[fd00::1]']) {
    const p = only(MINIMAL.replace('https://acme.example/oauth/token', `https://${host}/token`), 'auth.tokenUrl');
    assert.match(p.message, /dangerouslyAllowInsecureTargets\.privateNetwork/, host);
  }
  assert.equal(parseConnectorText(MINIMAL.replace('https://acme.example/oauth/token', 'https://172.32.0.1/token'), 'a').ok, true, '172.32/16 is public');
});

test('a URL placeholder needs a configuration entry', () => {
  const p = only(MINIMAL.replace('baseUrl: https://api.acme.example', 'baseUrl: https://{tenant}.acme.example'), 'baseUrl');
  assert.match(p.message, /\{tenant\} needs a matching entry in configuration/);
  const ok = parseConnectorText(`${MINIMAL.replace('baseUrl: https://api.acme.example', 'baseUrl: https://{tenant}.acme.example')}configuration:\n  - { key: tenant, label: Tenant }\n`, 'a');
  assert.equal(ok.ok, true);
});

test('an unconfirmed revocation row must say what to re-verify', () => {
  const text = `${MINIMAL}revocation: { style: form_body, confirmed: false, source: null }\n`;
  const p = only(text, 'revocation.statement');
  assert.match(p.message, /plain statement/);
});

test('an API key cannot be placed as basic credentials', () => {
  const text = 'key: k\nname: K\nbaseUrl: https://k.example\nauth: { type: custom, apply: { in: basic } }\n';
  only(text, 'auth.apply.in');
});

test('a header placement needs a valid header name', () => {
  const text = 'key: k\nname: K\nbaseUrl: https://k.example\nauth: { type: custom, apply: { in: header, name: "X Api Key" } }\n';
  assert.match(only(text, 'auth.apply.name').message, /header name/);
});

const FLOW = (name: string, kind: string) => `  - name: ${name}\n    kind: ${kind}\n    cards:\n      - { type: return, values: {} }\n`;

test('flows: an unknown card type is located at its type', () => {
  const p = only(`${MINIMAL}flows:\n  - name: ping\n    kind: action\n    cards:\n      - { type: htp }\n`, 'flows[0].cards[0].type');
  assert.match(p.message, /card type/);
  assert.equal(p.line, 12);
});

test('flows: duplicate names, two revoke flows and misused reserved names are rejected', () => {
  assert.match(only(`${MINIMAL}flows:\n${FLOW('a', 'action')}${FLOW('a', 'action')}`, 'flows[1].name').message, /duplicate flow name/);
  assert.match(only(`${MINIMAL}flows:\n${FLOW('_revoke', 'revoke')}${FLOW('other', 'revoke')}`, 'flows[1].kind').message, /at most one revoke/);
  assert.match(only(`${MINIMAL}flows:\n${FLOW('_revoke', 'helper')}`, 'flows[0].kind').message, /must have kind revoke/);
  assert.match(only(`${MINIMAL}flows:\n${FLOW('_mine', 'action')}`, 'flows[0].name').message, /reserved/);
});

test('YAML syntax errors carry the line and column', () => {
  const [p] = problems('key: acme\nname: [unclosed\n');
  assert.match(p.message, /^YAML syntax/);
  assert.equal(typeof p.line, 'number');
});

test('duplicate YAML keys are rejected rather than silently overwritten', () => {
  const [p] = problems(`${MINIMAL}key: other\n`);
  assert.match(p.message, /YAML syntax/);
  assert.equal(p.line, 8);
});

test('a document that is not a mapping is rejected at the top', () => {
  for (const text of ['', '- a\n- b\n', '42\n', 'null\n']) {
    const [p] = problems(text);
    assert.match(p.message, /expected a mapping/);
  }
});

test('an oversized definition is refused before parsing', () => {
  const [p] = problems(`${MINIMAL}description: "${'x'.repeat(1024 * 1024)}"\n`);
  assert.match(p.message, /larger than/);
});

test('alias bombs are refused', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`);
  const [p] = problems(`${bomb.join('\n')}\n`);
  assert.match(p.message, /YAML/);
});

test('parseConnector throws CONNECTOR_INVALID whose details read file:line:column path', () => {
  try {
    parseConnector(MINIMAL.replace('tokenUrl: https://acme.example/oauth/token', 'tokenUrl: 12'), 'connectors/acme.yaml');
    assert.fail('expected a CONNECTOR_INVALID error');
  } catch (error) {
    assert.ok(isPlugboardError(error));
    assert.equal(error.code, 'CONNECTOR_INVALID');
    assert.equal(error.status, 400);
    assert.deepEqual(error.details?.map((d) => d.path), ['connectors/acme.yaml:7:13 auth.tokenUrl']);
    assert.match(error.message, /connectors\/acme\.yaml/);
  }
});

test('a directory load keeps the good files and reports each bad one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pb-connectors-'));
  try {
    await writeFile(join(dir, 'a-good.yaml'), MINIMAL);
    await writeFile(join(dir, 'b-bad.yaml'), MINIMAL.replace('tokenUrl', 'tokenUri'));
    await writeFile(join(dir, 'c-dup.yml'), MINIMAL);
    await writeFile(join(dir, 'd-good.yaml'), MINIMAL.replace('key: acme', 'key: acme-two'));
    await writeFile(join(dir, 'notes.txt'), 'not a connector');
    const { connectors, errors } = await loadConnectorDirectory(dir, 'fixtures');
    assert.deepEqual(connectors.map((c) => c.file), ['fixtures/a-good.yaml', 'fixtures/d-good.yaml']);
    assert.equal(errors.length, 2);
    assert.ok(errors[0].details?.some((d) => d.path.startsWith('fixtures/b-bad.yaml:')));
    assert.match(errors[1].details?.[0].message ?? '', /already used by fixtures\/a-good\.yaml/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unreadable file is a located error, not a crash', async () => {
  await assert.rejects(loadConnectorFile(join(tmpdir(), 'pb-no-such-connector.yaml'), 'missing.yaml'), (error: unknown) => {
    assert.ok(isPlugboardError(error));
    assert.equal(error.code, 'CONNECTOR_INVALID');
    assert.match(error.details?.[0].message ?? '', /ENOENT/);
    return true;
  });
});

test('the committed JSON Schema matches the Zod schema (run node scripts/connector-schema.ts)', async () => {
  const { connectorJsonSchemaText } = await import('../../src/connectors/json-schema.ts');
  const committed = await readFile(new URL('../../connectors/connector.schema.json', import.meta.url), 'utf8');
  assert.equal(committed, connectorJsonSchemaText(), 'connectors/connector.schema.json is stale: run node scripts/connector-schema.ts');
});

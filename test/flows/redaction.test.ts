/**
 * Redaction tests: a canary vault value, pushed through every place a flow can put it (headers, query, form and JSON
 * bodies, templates, error messages, provider answers that echo it encoded), never reaches stored history in any form:
 * raw, URL- or form-encoded, JSON-escaped, base64 or base64url at any alignment, alone or concatenated.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConnectorFlows, createRedactor, handlerTransport, MemoryExecutionSink, REDACTED, runFlow, runRevoke } from '../../src/flows/index.ts';
import type { FlowDefinition } from '../../src/flows/schema.ts';
import { BOX_FLOWS, FILE, HTTP_HELPER } from './fixtures.ts';

const CANARY = 'Cx9/+Qz==k&p?"é~canary-T0k3n';
const CLIENT_SECRET = 'cs_live_5f2b8c1e9a7d';

/** Every form the canary could take in stored text. */
function forms(secret: string): string[] {
  const out = new Set<string>([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), JSON.stringify(secret).slice(1, -1)]);
  const bytes = Buffer.from(secret, 'utf8');
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset, 0x41), bytes]);
    for (const encoding of ['base64', 'base64url'] as const) {
      out.add(padded.toString(encoding).slice(offset === 0 ? 0 : 4, Math.floor(padded.length / 3) * 4));
    }
  }
  return [...out];
}

function assertClean(stored: string, secret: string): void {
  for (const form of forms(secret)) assert.ok(!stored.includes(form), `history contains the secret as ${JSON.stringify(form)}`);
  // The stored text is JSON: check it decoded too, so an escape sequence cannot hide the value.
  const decoded = JSON.stringify(JSON.parse(stored), (_key, value: unknown) => value);
  assert.ok(!decoded.includes(secret));
}

const LEAKY: FlowDefinition = {
  name: 'leaky',
  kind: 'action',
  saveData: true,
  inputs: { note: 'text' },
  outputs: { echoed: 'any', composed: 'text' },
  cards: [
    { id: 'compose', type: 'textCompose', template: 'token={{ auth.accessToken }};secret={{auth.clientSecret}}' },
    { id: 'json', type: 'jsonStringify', value: { token: { $ref: 'auth.accessToken' }, nested: [{ $ref: 'compose.text' }] } },
    {
      id: 'call',
      type: 'http',
      url: 'https://api.example.test/echo',
      method: 'POST',
      query: { access_token: { $ref: 'auth.accessToken' } },
      headers: { Authorization: { $template: 'Bearer {{ auth.accessToken }}' }, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: { token: { $ref: 'auth.accessToken' }, client_secret: { $ref: 'auth.clientSecret' }, json: { $ref: 'json.text' } },
    },
    {
      id: 'guard',
      type: 'ifError',
      try: [{ id: 'fail', type: 'returnError', message: { $template: 'could not use {{ auth.accessToken }}' } }],
      outputs: { why: { catch: { $ref: 'error.message' } } },
    },
    { id: 'keep', type: 'assign', values: { why: { $ref: 'guard.why' }, note: { $ref: 'input.note' } } },
    { type: 'return', values: { echoed: { $ref: 'call.body' }, composed: { $ref: 'compose.text' } } },
  ],
};

/** A provider that echoes the token back in every encoding, concatenated with other text. */
const echo = handlerTransport((req) => {
  const basic = Buffer.from(`client:${CANARY}`).toString('base64');
  const shifted = Buffer.from(`xy${CANARY}tail`).toString('base64url');
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'x-echo-auth': req.headers.authorization ?? '' },
    body: JSON.stringify({
      url: req.url,
      received: req.body,
      basic: `Basic ${basic}`,
      shifted,
      plain64: Buffer.from(CANARY).toString('base64'),
      encoded: encodeURIComponent(`prefix-${CANARY}-suffix`),
      [`key-${CANARY}`]: 'secret in a key',
    }),
  };
});

describe('redaction of vault values in history', () => {
  const compiled = compileConnectorFlows([LEAKY], { file: 'connectors/leaky.yaml', connectorKey: 'leaky' });

  it('keeps the canary out of stored history in every form', async () => {
    const sink = new MemoryExecutionSink();
    const result = await runFlow(compiled, 'leaky', {
      inputs: { note: `user pasted ${CANARY} here` },
      auth: { accessToken: CANARY, clientSecret: CLIENT_SECRET, clientId: 'client' },
      transport: echo,
      sink,
    });
    assert.equal(result.status, 'succeeded');
    // The caller still gets the real outputs: only history is redacted.
    assert.match(JSON.stringify(result.outputs), /canary-T0k3n/);
    const stored = JSON.stringify(sink.records);
    assertClean(stored, CANARY);
    assertClean(stored, CLIENT_SECRET);
    assert.ok(stored.includes(REDACTED));
    // What is not secret stays readable.
    assert.ok(stored.includes('api.example.test/echo'));
    assert.ok(stored.includes('user pasted [redacted] here'));
  });

  it('redacts secrets passed as extra secrets, and in the returned error', async () => {
    const flow: FlowDefinition = {
      name: 'fails',
      kind: 'action',
      saveData: true,
      inputs: { apiKey: 'text' },
      cards: [{ id: 'stop', type: 'returnError', message: { $template: 'key {{ input.apiKey }} rejected' } }],
    };
    const failing = compileConnectorFlows([flow], { file: 'connectors/fails.yaml', connectorKey: 'fails' });
    const sink = new MemoryExecutionSink();
    const result = await runFlow(failing, 'fails', { inputs: { apiKey: CANARY }, secrets: [CANARY], sink });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.message, 'key [redacted] rejected');
    assertClean(JSON.stringify(sink.records), CANARY);
  });

  it('keeps the revoke recipe history free of the refresh token, client secret and access token', async () => {
    const box = compileConnectorFlows(BOX_FLOWS, { file: FILE, connectorKey: 'box' });
    const sink = new MemoryExecutionSink();
    const auth = { accessToken: `at-${CANARY}`, refreshToken: CANARY, clientId: 'client', clientSecret: CLIENT_SECRET, baseUrl: 'https://api.box.test' };
    await runRevoke(box, { auth, transport: echo, sink });
    const stored = JSON.stringify(sink.records);
    assertClean(stored, CANARY);
    assertClean(stored, CLIENT_SECRET);
    assert.ok(stored.includes('"client_id":"client"'));
  });

  it('also works for helper flows run directly', async () => {
    const helper = compileConnectorFlows([{ ...HTTP_HELPER, saveData: true }], { file: 'connectors/helper.yaml', connectorKey: 'helper' });
    const sink = new MemoryExecutionSink();
    await runFlow(helper, 'httpHelper', {
      inputs: { relative_url: '/x', request_method: 'GET', connection: { accessToken: CANARY, baseUrl: 'https://h.test' } },
      secrets: [CANARY],
      transport: echo,
      sink,
    });
    assertClean(JSON.stringify(sink.records), CANARY);
  });
});

describe('createRedactor', () => {
  it('replaces exact, embedded and encoded values', () => {
    const redactor = createRedactor(['s3cr3t-value']);
    assert.equal(redactor.redactString('s3cr3t-value'), REDACTED);
    assert.equal(redactor.redactString('Bearer s3cr3t-value'), `Bearer ${REDACTED}`);
    assert.equal(redactor.redactString(`Basic ${Buffer.from('id:s3cr3t-value').toString('base64')}`), `Basic ${REDACTED}`);
    assert.equal(redactor.redactString(Buffer.from('s3cr3t-value').toString('base64url')), REDACTED);
    assert.deepEqual(redactor.redactValue({ a: ['s3cr3t-value', 1, null], 's3cr3t-value': true }), { a: [REDACTED, 1, null], [REDACTED]: true });
  });

  it('leaves ordinary text alone and ignores empty or non-text secrets', () => {
    const redactor = createRedactor(['s3cr3t-value', '', 42, null]);
    for (const text of ['hello world', 'https://api.example.test/oauth2/revoke', 'SGVsbG8gd29ybGQ=', '100%']) {
      assert.equal(redactor.redactString(text), text);
    }
    assert.equal(createRedactor([]).active, false);
    assert.equal(createRedactor(['']).redactString('anything'), 'anything');
  });

  it('only replaces very short secrets where a whole string equals them', () => {
    const redactor = createRedactor(['ab']);
    assert.equal(redactor.redactString('ab'), REDACTED);
    assert.equal(redactor.redactString('table'), 'table');
  });

  it('copies shared sub-objects once and keeps the input untouched', () => {
    const shared = { token: 's3cr3t-value' };
    const input = { a: shared, b: shared };
    const out = createRedactor(['s3cr3t-value']).redactValue(input);
    assert.equal(out.a, out.b);
    assert.equal(shared.token, 's3cr3t-value');
  });
});

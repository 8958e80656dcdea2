/**
 * Interpreter tests: bounds (cards, call depth, wall-clock, body size, cancellation), input validation, the typed
 * system flows, history summaries and the undici transport against a local server on an ephemeral port.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PlugboardError } from '../../src/core/errors.ts';
import {
  compileConnectorFlows,
  handlerTransport,
  MemoryExecutionSink,
  runAuthping,
  runFlow,
  runRevoke,
  undiciTransport,
  type ExecutionSink,
} from '../../src/flows/index.ts';
import type { FlowDefinition } from '../../src/flows/schema.ts';
import { BOX_FLOWS, FILE, action } from './fixtures.ts';

const box = compileConnectorFlows(BOX_FLOWS, { file: FILE, connectorKey: 'box' });
const auth = { accessToken: 'at-1234567890', refreshToken: 'rt-1234567890', clientId: 'client', clientSecret: 'cs-1234567890', baseUrl: 'https://api.box.test/2.0' };
const ok = handlerTransport(() => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' }));

describe('runFlow: caller mistakes', () => {
  it('throws NOT_FOUND for an unknown flow, with a suggestion', async () => {
    await assert.rejects(runFlow(box, '_revok'), (error: unknown) => {
      assert.ok(error instanceof PlugboardError);
      assert.equal(error.code, 'NOT_FOUND');
      assert.match(error.message, /did you mean '_revoke'/);
      return true;
    });
    await assert.rejects(runFlow(box, 'toString'), { code: 'NOT_FOUND' });
  });

  it('throws VALIDATION_FAILED for missing, unknown and mistyped inputs', async () => {
    await assert.rejects(runFlow(box, 'httpHelper', { inputs: { request_method: 'GET', connection: {} } }), (error: unknown) => {
      assert.ok(error instanceof PlugboardError);
      assert.equal(error.code, 'VALIDATION_FAILED');
      assert.deepEqual(error.details?.map((detail) => detail.path), ['inputs.relative_url']);
      return true;
    });
    await assert.rejects(runFlow(box, 'httpHelper', { inputs: { relative_url: 5, request_method: 'GET', connection: {}, relativeurl: 'x' } }), (error: unknown) => {
      assert.ok(error instanceof PlugboardError);
      assert.deepEqual(error.details?.map((detail) => detail.path).sort(), ['inputs.relative_url', 'inputs.relativeurl']);
      assert.match(error.details![0].message + error.details![1].message, /did you mean 'relative_url'/);
      return true;
    });
  });
});

describe('runFlow: bounds', () => {
  const loop = (n: number): FlowDefinition => action(Array.from({ length: n }, (_, i) => ({ id: `a${i}`, type: 'assign' as const, values: { i } })));

  it('stops after maxCards cards', async () => {
    const compiled = compileConnectorFlows([loop(20)], { file: 'connectors/loop.yaml', connectorKey: 'loop' });
    const result = await runFlow(compiled, 'act', { limits: { maxCards: 10 } });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
    assert.match(result.error!.message, /more than 10 cards/);
    assert.equal((await runFlow(compiled, 'act', { limits: { maxCards: 20 } })).status, 'succeeded');
  });

  it('stops at the run-time call depth', async () => {
    const chain: FlowDefinition[] = [action([{ id: 'c', type: 'callFlow', flow: 'h0' }])];
    for (let i = 0; i < 4; i++) chain.push({ name: `h${i}`, kind: 'helper', cards: i === 3 ? [] : [{ id: 'c', type: 'callFlow', flow: `h${i + 1}` }] });
    const compiled = compileConnectorFlows(chain, { file: 'connectors/chain.yaml', connectorKey: 'chain' });
    assert.equal((await runFlow(compiled, 'act')).status, 'succeeded');
    const result = await runFlow(compiled, 'act', { limits: { maxCallDepth: 2 } });
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
    assert.match(result.error!.message, /deeper than 2/);
  });

  it('stops at the wall-clock bound while a request hangs', async () => {
    const hang = handlerTransport(
      (req) =>
        new Promise((_, reject) => {
          req.signal?.addEventListener('abort', () => reject(new Error('aborted')));
          setTimeout(() => reject(new Error('timed out')), req.timeoutMs);
        }),
    );
    const compiled = compileConnectorFlows([action([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', timeoutMs: 60_000 }])], {
      file: 'connectors/hang.yaml',
      connectorKey: 'hang',
    });
    const started = performance.now();
    const result = await runFlow(compiled, 'act', { transport: hang, limits: { timeoutMs: 50 } });
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
    assert.ok(performance.now() - started < 2_000);
  });

  it('reports the card timeout as PROVIDER_UNREACHABLE when the execution still has time', async () => {
    const slow = handlerTransport((req) => new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), req.timeoutMs)));
    const compiled = compileConnectorFlows([action([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', timeoutMs: 20 }])], {
      file: 'connectors/slow.yaml',
      connectorKey: 'slow',
    });
    const result = await runFlow(compiled, 'act', { transport: slow });
    assert.equal(result.error?.code, 'PROVIDER_UNREACHABLE');
  });

  it('stops text that doubles past the size bound', async () => {
    const cards = [{ id: 't0', type: 'textCompose' as const, template: 'xxxxxxxxxxxxxxxx' }];
    for (let i = 1; i < 40; i++) cards.push({ id: `t${i}`, type: 'textCompose', template: `{{ t${i - 1}.text }}{{ t${i - 1}.text }}` });
    const compiled = compileConnectorFlows([action(cards)], { file: 'connectors/double.yaml', connectorKey: 'double' });
    const result = await runFlow(compiled, 'act', { limits: { maxBodyBytes: 1 << 16 } });
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
  });

  it('stops JSON Stringify of a shared-structure object that would be huge', async () => {
    const cards: FlowDefinition['cards'] = [{ id: 'o0', type: 'objectConstruct', values: { leaf: 'x' } }];
    for (let i = 1; i < 60; i++) cards.push({ id: `o${i}`, type: 'objectConstruct', values: { a: { $ref: `o${i - 1}.object` }, b: { $ref: `o${i - 1}.object` } } });
    cards.push({ id: 's', type: 'jsonStringify', value: { $ref: 'o59.object' } });
    const compiled = compileConnectorFlows([action(cards, {}, { saveData: true })], { file: 'connectors/dag.yaml', connectorKey: 'dag' });
    const sink = new MemoryExecutionSink();
    const started = performance.now();
    const result = await runFlow(compiled, 'act', { sink });
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
    assert.ok(performance.now() - started < 2_000, 'neither the card nor history walks the whole value');
    assert.ok(JSON.stringify(sink.records[0]).length < 2_000_000);
  });

  it('stops when the caller cancels', async () => {
    const controller = new AbortController();
    const transport = handlerTransport(() => {
      controller.abort();
      return { statusCode: 200, headers: {}, body: '' };
    });
    const compiled = compileConnectorFlows([action([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET' }, { id: 'after', type: 'assign', values: {} }])], {
      file: 'connectors/cancel.yaml',
      connectorKey: 'cancel',
    });
    const result = await runFlow(compiled, 'act', { transport, signal: controller.signal });
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
    assert.match(result.error!.message, /cancelled/);
  });
});

describe('system flows', () => {
  it('runRevoke returns the typed outputs of the seed recipe', async () => {
    const result = await runRevoke(box, { auth, transport: ok });
    assert.equal(result.status, 'succeeded');
    assert.equal(result.outputs.revoked, true);
    assert.equal(result.outputs.message.unregisterURL, 'https://app.box.test/account/security');
    assert.deepEqual(result.outputs.serviceResponse, { statusCode: 200, body: 'The access token was successfully revoked.' });
  });

  it('runRevoke reports revoked: false when the provider refuses', async () => {
    const refuse = handlerTransport(() => ({ statusCode: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_token"}' }));
    const result = await runRevoke(box, { auth, transport: refuse });
    assert.equal(result.status, 'succeeded');
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 400);
  });

  it('runRevoke catches an unreachable provider in the If Error and reports not revoked', async () => {
    const down = handlerTransport(() => {
      throw new Error('ECONNREFUSED');
    });
    const result = await runRevoke(box, { auth, transport: down });
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 0);
    assert.match(String(result.outputs.serviceResponse.body), /failed/);
  });

  it('runAuthping says working or not', async () => {
    assert.equal((await runAuthping(box, { auth, transport: ok })).outputs.working, true);
    const unauthorized = handlerTransport(() => ({ statusCode: 401, headers: {}, body: '' }));
    const result = await runAuthping(box, { auth, transport: unauthorized });
    assert.equal(result.outputs.working, false);
    assert.equal(result.outputs.message, 'The provider answered 401');
  });

  it('throws NOT_FOUND when the connector has no such system flow', async () => {
    const none = compileConnectorFlows([], { file: 'connectors/none.yaml', connectorKey: 'none' });
    await assert.rejects(runRevoke(none), { code: 'NOT_FOUND' });
    await assert.rejects(runAuthping(none), { code: 'NOT_FOUND' });
  });
});

describe('history', () => {
  it('records a summary without data when saveData is off', async () => {
    const sink = new MemoryExecutionSink();
    await runAuthping(box, { auth, transport: ok, sink, context: { connectionId: 'con_1' } });
    const [record] = sink.records;
    assert.equal(record.flow, '_authping');
    assert.equal(record.saveData, false);
    assert.equal(record.inputs, null);
    assert.deepEqual(record.cards, []);
    assert.deepEqual(record.context, { connectionId: 'con_1' });
    assert.equal(record.status, 'succeeded');
  });

  it('records every card with timing when saveData is on, in execution order', async () => {
    const sink = new MemoryExecutionSink();
    const result = await runRevoke(box, { auth, transport: ok, sink });
    const [record] = sink.records;
    assert.equal(record.id, result.executionId);
    assert.equal(record.cardsExecuted, record.cards.length);
    assert.deepEqual(
      record.cards.map((card) => `${card.flow}:${card.card}`),
      [
        '_revoke:cards[attempt]',
        '_revoke:cards[attempt].try[call]',
        'httpHelper:cards[target]',
        'httpHelper:cards[credentials]',
        'httpHelper:cards[request]',
        'httpHelper:cards[3]',
        '_revoke:cards[attempt].try[done]',
        '_revoke:cards[check]',
        '_revoke:cards[manual]',
        '_revoke:cards[response]',
        '_revoke:cards[4]',
      ],
    );
    assert.ok(record.cards.every((card) => card.durationMs >= 0 && !Number.isNaN(Date.parse(card.startedAt))));
  });

  it('records the failing card with its error', async () => {
    const sink = new MemoryExecutionSink();
    const compiled = compileConnectorFlows([action([{ id: 'stop', type: 'returnError', message: 'no' }], {}, { saveData: true })], {
      file: 'connectors/fail.yaml',
      connectorKey: 'fail',
    });
    await runFlow(compiled, 'act', { sink });
    assert.equal(sink.records[0].status, 'failed');
    assert.deepEqual(sink.records[0].error, { code: 'FLOW_FAILED', message: 'no' });
    assert.deepEqual(sink.records[0].cards[0].error, { code: 'FLOW_FAILED', message: 'no' });
  });

  it('still returns the result when the sink fails', async () => {
    const broken: ExecutionSink = {
      write: async () => {
        throw new Error('disk full');
      },
    };
    const result = await runRevoke(box, { auth, transport: ok, sink: broken });
    assert.equal(result.outputs.revoked, true);
    assert.equal(result.historySaved, false);
  });
});

describe('undici transport against a local server', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 500);
        return;
      }
      if (req.url === '/big') {
        res.setHeader('content-type', 'text/plain');
        res.end('y'.repeat(4096));
        return;
      }
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization ?? null, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );

  it('runs the helper over the network and parses the JSON answer', async () => {
    const result = await runFlow(box, 'httpHelper', {
      inputs: { relative_url: '/echo', request_method: 'POST', body: { a: 1 }, connection: { ...auth, baseUrl: base } },
      auth,
      transport: undiciTransport(),
    });
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.outputs?.body, { method: 'POST', url: '/echo', auth: 'Bearer at-1234567890', body: '{"a":1}' });
    assert.equal((result.outputs?.headers as Record<string, string>)['set-cookie'], 'a=1, b=2');
  });

  it('times out per card and stops downloading past the body limit', async () => {
    const compiled = compileConnectorFlows(
      [
        action([{ id: 'g', type: 'http', url: `${base}/slow`, method: 'GET', timeoutMs: 50 }], {}, { name: 'slow' }),
        action([{ id: 'g', type: 'http', url: `${base}/big`, method: 'GET' }], {}, { name: 'big' }),
      ],
      { file: 'connectors/local.yaml', connectorKey: 'local' },
    );
    const slow = await runFlow(compiled, 'slow', { transport: undiciTransport() });
    assert.equal(slow.error?.code, 'PROVIDER_UNREACHABLE');
    assert.match(slow.error!.message, /no answer within 50 ms/);
    const big = await runFlow(compiled, 'big', { transport: undiciTransport(), limits: { maxBodyBytes: 1024 } });
    assert.equal(big.error?.code, 'FLOW_LIMIT_EXCEEDED');
  });
});

describe('auth.clientBasicAuth', () => {
  it('is base64 of the form-encoded client id and secret, derived only for connectors that use it, and redacted', async () => {
    const flow = action([{ type: 'return', values: { basic: { $template: 'Basic {{ auth.clientBasicAuth }}' } } }], { basic: 'text' }, { saveData: true });
    const compiled = compileConnectorFlows([flow], { file: 'connectors/basic.yaml', connectorKey: 'basic' });
    assert.equal(compiled.usesClientBasicAuth, true);
    const sink = new MemoryExecutionSink();
    const result = await runFlow(compiled, 'act', { auth: { clientId: 'my id', clientSecret: 's3cret:+/' }, sink });
    assert.equal(result.outputs?.basic, `Basic ${Buffer.from('my+id:s3cret%3A%2B%2F').toString('base64')}`);
    assert.ok(!JSON.stringify(sink.records).includes(Buffer.from('my+id:s3cret%3A%2B%2F').toString('base64')));
    assert.equal(compileConnectorFlows([action([])], { file: 'connectors/plain.yaml', connectorKey: 'plain' }).usesClientBasicAuth, false);
  });
});

describe('total response size', () => {
  it('stops an execution whose responses together pass maxTotalBodyBytes, each under maxBodyBytes', async () => {
    const transport = handlerTransport(() => ({ statusCode: 200, headers: {}, body: 'z'.repeat(600) }));
    const cards = Array.from({ length: 5 }, (_, i) => ({ id: `g${i}`, type: 'http' as const, url: 'https://x.test/', method: 'GET' }));
    const compiled = compileConnectorFlows([action(cards)], { file: 'connectors/total.yaml', connectorKey: 'total' });
    const within = await runFlow(compiled, 'act', { transport, limits: { maxBodyBytes: 1000, maxTotalBodyBytes: 3000 } });
    assert.equal(within.status, 'succeeded');
    const over = await runFlow(compiled, 'act', { transport, limits: { maxBodyBytes: 1000, maxTotalBodyBytes: 2000 } });
    assert.equal(over.error?.code, 'FLOW_LIMIT_EXCEEDED');
    assert.match(over.error!.message, /more than 2000 bytes of response bodies/);
  });
});

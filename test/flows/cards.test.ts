/**
 * Card tests: each card's behaviour through the interpreter, with HTTP answered in-process. Negative cases (a card
 * failing, a comparison not holding, a bad value at run time) come with each card.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileConnectorFlows, handlerTransport, runFlow, type HttpRequest, type HttpResponse, type RunOptions } from '../../src/flows/index.ts';
import type { CardDef, FlowDefinition, ValueType } from '../../src/flows/schema.ts';
import { action } from './fixtures.ts';

let counter = 0;

async function run(cards: CardDef[], outputs: Record<string, ValueType>, options: RunOptions = {}, extraFlows: FlowDefinition[] = [], inputs?: FlowDefinition['inputs']) {
  const flow = action(cards, outputs, inputs === undefined ? {} : { inputs });
  // A unique file name per test keeps the compile cache from mixing tests up.
  const compiled = compileConnectorFlows([flow, ...extraFlows], { file: `connectors/test-${counter++}.yaml`, connectorKey: 'test' });
  return runFlow(compiled, 'act', options);
}

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('assign and objectConstruct', () => {
  it('assigns literals and references and builds objects on a base', async () => {
    const result = await run(
      [
        { id: 'a', type: 'assign', values: { greeting: 'hi', count: 2, nested: { from: { $ref: 'auth.baseUrl' } } } },
        { id: 'o', type: 'objectConstruct', base: { $ref: 'a.nested' }, values: { count: { $ref: 'a.count' }, list: [1, { $ref: 'a.greeting' }] }, output: 'built' },
        { type: 'return', values: { built: { $ref: 'o.built' } } },
      ],
      { built: 'object' },
      { auth: { baseUrl: 'https://api.example.test' } },
    );
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.outputs, { built: { from: 'https://api.example.test', count: 2, list: [1, 'hi'] } });
  });

  it('fails Object Construct when the base is not an object', async () => {
    const result = await run(
      [{ id: 'o', type: 'objectConstruct', base: { $ref: 'input.base' }, values: {} }],
      {},
      { inputs: { base: [1, 2] } },
      [],
      { base: 'any' },
    );
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'FLOW_FAILED');
    assert.match(result.error!.message, /base must be an object, got a list/);
  });
});

describe('assignIf and continueIf comparisons', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal', 200, 200, true],
    ['equal', 200, '200', false],
    ['equal', { a: [1] }, { a: [1] }, true],
    ['notEqual', 1, 2, true],
    ['greater', 3, 2, true],
    ['greater', '3', 2, false],
    ['less', 'a', 'b', true],
    ['atLeast', 2, 2, true],
    ['atMost', 3, 2, false],
    ['in', 'b', ['a', 'b'], true],
    ['in', 'c', ['a', 'b'], false],
    ['notIn', 'c', ['a', 'b'], true],
    ['hasKey', { token: 1 }, 'token', true],
    ['hasKey', { token: 1 }, 'toString', false],
    ['contains', 'Bearer abc', 'abc', true],
    ['contains', [1, 2], 2, true],
    ['contains', null, 'x', false],
  ];
  for (const [comparison, a, b, expected] of cases) {
    it(`${JSON.stringify(a)} ${comparison} ${JSON.stringify(b)} is ${expected}`, async () => {
      const result = await run(
        [
          { id: 'v', type: 'assign', values: { a: a as never, b: b as never } },
          { id: 'c', type: 'assignIf', a: { $ref: 'v.a' }, comparison: comparison as never, b: { $ref: 'v.b' }, ifTrue: true, ifFalse: false },
          { type: 'return', values: { result: { $ref: 'c.result' } } },
        ],
        { result: 'boolean' },
      );
      assert.deepEqual(result.outputs, { result: expected });
    });
  }

  it('evaluates only the branch Assign If picks', async () => {
    const result = await run(
      [
        { id: 'c', type: 'assignIf', a: 1, comparison: 'equal', b: 1, ifTrue: 'yes', ifFalse: { $template: '{{ input.x }}' }, output: 'answer' },
        { type: 'return', values: { answer: { $ref: 'c.answer' } } },
      ],
      { answer: 'text' },
      {},
      [],
      { x: 'text' },
    );
    assert.deepEqual(result.outputs, { answer: 'yes' });
  });

  it('lets the flow continue when Continue If holds and halts it with the message when not', async () => {
    const cards = (value: number): CardDef[] => [
      { id: 'gate', type: 'continueIf', a: value, comparison: 'less', b: 10, message: { $template: 'value {{ input.label }} is too large' } },
      { type: 'return', values: { ok: true } },
    ];
    const pass = await run(cards(3), { ok: 'boolean' }, { inputs: { label: 'x' } }, [], { label: 'text' });
    assert.deepEqual(pass.outputs, { ok: true });
    const halt = await run(cards(30), { ok: 'boolean' }, { inputs: { label: 'x' } }, [], { label: 'text' });
    assert.equal(halt.status, 'failed');
    assert.equal(halt.error?.code, 'FLOW_FAILED');
    assert.equal(halt.error?.message, 'value x is too large');
    assert.equal(halt.outputs, null);
  });
});

describe('objectGet, textCompose, jsonParse, jsonStringify', () => {
  it('reads paths, with a default for missing ones', async () => {
    const result = await run(
      [
        { id: 'v', type: 'assign', values: { doc: { items: [{ name: 'first' }] } } },
        { id: 'hit', type: 'objectGet', object: { $ref: 'v.doc' }, path: 'items.0.name' },
        { id: 'miss', type: 'objectGet', object: { $ref: 'v.doc' }, path: 'items.5.name', default: 'none' },
        { id: 'proto', type: 'objectGet', object: { $ref: 'v.doc' }, path: 'constructor' },
        { type: 'return', values: { hit: { $ref: 'hit.value' }, miss: { $ref: 'miss.value' }, proto: { $ref: 'proto.value' } } },
      ],
      { hit: 'any', miss: 'any', proto: 'any' },
    );
    assert.deepEqual(result.outputs, { hit: 'first', miss: 'none', proto: null });
  });

  it('composes text from references; objects as JSON, null as empty', async () => {
    const result = await run(
      [
        { id: 'v', type: 'assign', values: { obj: { a: 1 }, nothing: null, n: 3 } },
        { id: 't', type: 'textCompose', template: 'n={{ v.n }} obj={{v.obj}} nothing=[{{ v.nothing }}]' },
        { type: 'return', values: { text: { $ref: 't.text' } } },
      ],
      { text: 'text' },
    );
    assert.deepEqual(result.outputs, { text: 'n=3 obj={"a":1} nothing=[]' });
  });

  it('round-trips JSON and fails on text that is not JSON', async () => {
    const ok = await run(
      [
        { id: 's', type: 'jsonStringify', value: { a: [1, true, null] } },
        { id: 'p', type: 'jsonParse', text: { $ref: 's.text' } },
        { type: 'return', values: { text: { $ref: 's.text' }, value: { $ref: 'p.value' } } },
      ],
      { text: 'text', value: 'any' },
    );
    assert.deepEqual(ok.outputs, { text: '{"a":[1,true,null]}', value: { a: [1, true, null] } });
    const bad = await run([{ id: 'p', type: 'jsonParse', text: '{nope' }], {});
    assert.equal(bad.status, 'failed');
    assert.match(bad.error!.message, /JSON Parse at cards\[p\]: the text is not valid JSON/);
  });
});

describe('return and returnError', () => {
  it('ends the flow with Return Error, its code and status code', async () => {
    const result = await run([{ id: 'stop', type: 'returnError', message: 'not allowed', code: 'denied', statusCode: 403 }], {});
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'FLOW_FAILED');
    assert.equal(result.error?.message, 'not allowed');
    assert.deepEqual(result.error?.providerMessage, { code: 'denied', statusCode: 403 });
  });

  it('gives declared outputs null when a flow without Return runs to its end', async () => {
    const result = await run([{ id: 'a', type: 'assign', values: { x: 1 } }], {});
    assert.deepEqual(result.outputs, {});
  });
});

describe('ifError', () => {
  const guarded = (inner: CardDef[], catchCards: CardDef[] = []): CardDef[] => [
    {
      id: 'guard',
      type: 'ifError',
      try: inner,
      catch: catchCards,
      outputs: {
        outcome: { try: 'ok', catch: { $template: '{{ error.code }} at {{ error.card }} in {{ error.flow }}: {{ error.message }}' } },
      },
    },
    { type: 'return', values: { outcome: { $ref: 'guard.outcome' } } },
  ];

  it('takes outputs from the try branch when it succeeds', async () => {
    const result = await run(guarded([{ id: 'a', type: 'assign', values: {} }]), { outcome: 'text' });
    assert.deepEqual(result.outputs, { outcome: 'ok' });
  });

  it('runs the catch branch with the error object when a try card fails', async () => {
    const result = await run(guarded([{ id: 'boom', type: 'returnError', message: 'broken' }]), { outcome: 'text' });
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.outputs, { outcome: 'FLOW_FAILED at cards[guard].try[boom] in act: broken' });
  });

  it('exposes the execution id and the HTTP status of a failOnHttpError card', async () => {
    const transport = handlerTransport(() => json(404, { error: 'gone' }));
    const result = await run(
      [
        {
          id: 'guard',
          type: 'ifError',
          try: [{ id: 'get', type: 'http', url: 'https://api.example.test/x', method: 'GET', failOnHttpError: true }],
          outputs: { status: { try: 0, catch: { $ref: 'error.statusCode' } }, execution: { catch: { $ref: 'error.execution' } } },
        },
        { type: 'return', values: { status: { $ref: 'guard.status' }, execution: { $ref: 'guard.execution' } } },
      ],
      { status: 'number', execution: 'any' },
      { transport },
    );
    assert.equal(result.outputs?.status, 404);
    assert.equal(result.outputs?.execution, result.executionId);
  });

  it('ends the container (not the flow) on a Return inside a branch', async () => {
    const result = await run(
      [
        {
          id: 'guard',
          type: 'ifError',
          try: [{ type: 'return', values: { value: 'early' } }],
          outputs: { value: { try: 'mapped' } },
        },
        { id: 'after', type: 'assign', values: { ran: true } },
        { type: 'return', values: { value: { $ref: 'guard.value' }, ran: { $ref: 'after.ran' } } },
      ],
      { value: 'any', ran: 'boolean' },
    );
    assert.deepEqual(result.outputs, { value: 'early', ran: true });
  });

  it('lets an error in the catch branch propagate', async () => {
    const result = await run(guarded([{ id: 'boom', type: 'returnError', message: 'first' }], [{ id: 'again', type: 'returnError', message: 'second' }]), {
      outcome: 'text',
    });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.message, 'second');
  });

  it('does not catch limit errors', async () => {
    const result = await run(guarded([{ id: 'a', type: 'assign', values: {} }, { id: 'b', type: 'assign', values: {} }]), { outcome: 'text' }, { limits: { maxCards: 2 } });
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
  });
});

describe('callFlow', () => {
  const helper: FlowDefinition = {
    name: 'double',
    kind: 'helper',
    inputs: { n: { type: 'number', required: true } },
    outputs: { twice: 'text' },
    cards: [
      { id: 't', type: 'textCompose', template: '{{ input.n }}{{ input.n }}' },
      { type: 'return', values: { twice: { $ref: 't.text' } } },
    ],
  };

  it('passes inputs to the helper and exposes its outputs', async () => {
    const result = await run(
      [
        { id: 'call', type: 'callFlow', flow: 'double', inputs: { n: 4 }, outputs: { twice: 'text' } },
        { type: 'return', values: { twice: { $ref: 'call.twice' } } },
      ],
      { twice: 'text' },
      {},
      [helper],
    );
    assert.deepEqual(result.outputs, { twice: '44' });
  });

  it('reports a helper failure with the helper card as origin', async () => {
    const failing: FlowDefinition = { name: 'fail', kind: 'helper', cards: [{ id: 'no', type: 'returnError', message: 'helper said no' }] };
    const result = await run(
      [
        {
          id: 'g',
          type: 'ifError',
          try: [{ id: 'call', type: 'callFlow', flow: 'fail' }],
          outputs: { where: { catch: { $template: '{{ error.flow }}/{{ error.card }}' } } },
        },
        { type: 'return', values: { where: { $ref: 'g.where' } } },
      ],
      { where: 'any' },
      {},
      [failing],
    );
    assert.deepEqual(result.outputs, { where: 'fail/cards[no]' });
  });
});

describe('http', () => {
  it('sends method, query, headers and a JSON body, and parses the JSON answer', async () => {
    let seen: HttpRequest | undefined;
    const transport = handlerTransport((req) => {
      seen = req;
      return json(201, { id: 7 });
    });
    const result = await run(
      [
        {
          id: 'post',
          type: 'http',
          url: 'https://api.example.test/items?x=1',
          method: 'post',
          query: { page: 2, tags: ['a', 'b'], skip: null },
          headers: { 'X-Trace': 'abc' },
          body: { name: 'n' },
        },
        { type: 'return', values: { status: { $ref: 'post.statusCode' }, body: { $ref: 'post.body' } } },
      ],
      { status: 'number', body: 'any' },
      { transport },
    );
    assert.deepEqual(result.outputs, { status: 201, body: { id: 7 } });
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.url, 'https://api.example.test/items?x=1&page=2&tags=a&tags=b');
    assert.equal(seen?.headers['x-trace'], 'abc');
    assert.equal(seen?.headers['content-type'], 'application/json');
    assert.equal(seen?.body, '{"name":"n"}');
  });

  it('encodes a form body from the Content-Type and parses text and form answers', async () => {
    const bodies: (string | null)[] = [];
    const transport = handlerTransport((req) => {
      bodies.push(req.body);
      return req.url.endsWith('/form')
        ? { statusCode: 200, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two' }
        : { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('plain text') };
    });
    const result = await run(
      [
        { id: 'f', type: 'http', url: 'https://x.test/form', method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { token: 'a b&c' } },
        { id: 't', type: 'http', url: 'https://x.test/text', method: 'PUT', body: 'raw', bodyType: 'text' },
        { type: 'return', values: { form: { $ref: 'f.body' }, text: { $ref: 't.body' } } },
      ],
      { form: 'any', text: 'any' },
      { transport },
    );
    assert.deepEqual(result.outputs, { form: { a: '1', b: 'two' }, text: 'plain text' });
    assert.deepEqual(bodies, ['token=a+b%26c', 'raw']);
  });

  it('returns a 4xx/5xx as output by default and fails with failOnHttpError', async () => {
    const transport = handlerTransport(() => json(503, { error: 'down' }));
    const asOutput = await run(
      [{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET' }, { type: 'return', values: { status: { $ref: 'g.statusCode' } } }],
      { status: 'number' },
      { transport },
    );
    assert.deepEqual(asOutput.outputs, { status: 503 });
    const asError = await run([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', failOnHttpError: true }], {}, { transport });
    assert.equal(asError.error?.code, 'PROVIDER_ERROR');
    assert.deepEqual(asError.error?.providerMessage, { statusCode: 503, body: { error: 'down' } });
  });

  it('sends no body with GET, and refuses a relative URL, a non-http scheme and a bad method', async () => {
    let body: string | null = 'unset';
    const transport = handlerTransport((req) => {
      body = req.body;
      return json(200, {});
    });
    await run([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', body: { a: 1 } }], {}, { transport });
    assert.equal(body, null);
    for (const [url, method, message] of [
      ['/relative', 'GET', /not an absolute URL/],
      ['file:///etc/passwd', 'GET', /must be http or https/],
      ['https://x.test/', 'GE T', /not an HTTP method/],
    ] as const) {
      const result = await run([{ id: 'g', type: 'http', url, method }], {}, { transport });
      assert.equal(result.error?.code, 'FLOW_FAILED');
      assert.match(result.error!.message, message);
    }
  });

  it('turns a transport failure into PROVIDER_UNREACHABLE without the query string', async () => {
    const transport = handlerTransport(() => {
      throw new Error('ECONNREFUSED');
    });
    const result = await run([{ id: 'g', type: 'http', url: 'https://x.test/revoke?token=abc', method: 'POST' }], {}, { transport });
    assert.equal(result.error?.code, 'PROVIDER_UNREACHABLE');
    assert.doesNotMatch(result.error!.message, /token=abc/);
  });

  it('retries a 429 honouring Retry-After, bounded by maxAttempts', async () => {
    let calls = 0;
    const transport = handlerTransport(() => {
      calls++;
      return calls < 3 ? json(429, {}, { 'retry-after': '0' }) : json(200, { ok: true });
    });
    const result = await run(
      [{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', retry: { on429: true, maxAttempts: 3 } }, { type: 'return', values: { s: { $ref: 'g.statusCode' } } }],
      { s: 'number' },
      { transport },
    );
    assert.deepEqual(result.outputs, { s: 200 });
    assert.equal(calls, 3);

    calls = -10;
    const exhausted = await run(
      [{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', retry: { maxAttempts: 2 } }, { type: 'return', values: { s: { $ref: 'g.statusCode' } } }],
      { s: 'number' },
      { transport },
    );
    assert.deepEqual(exhausted.outputs, { s: 429 });
    assert.equal(calls, -8);
  });

  it('does not retry when Retry-After asks for more than maxWaitMs, nor without a retry policy', async () => {
    let calls = 0;
    const transport = handlerTransport(() => {
      calls++;
      return json(429, {}, { 'retry-after': '120' });
    });
    await run([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET', retry: { maxAttempts: 5, maxWaitMs: 1000 } }], {}, { transport });
    assert.equal(calls, 1);
    await run([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET' }], {}, { transport });
    assert.equal(calls, 2);
  });

  it('fails with FLOW_LIMIT_EXCEEDED when the answer is larger than the body limit', async () => {
    const transport = handlerTransport(() => ({ statusCode: 200, headers: {}, body: 'x'.repeat(2048) }));
    const result = await run([{ id: 'g', type: 'http', url: 'https://x.test/', method: 'GET' }], {}, { transport, limits: { maxBodyBytes: 1024 } });
    assert.equal(result.error?.code, 'FLOW_LIMIT_EXCEEDED');
  });
});

describe('keys that look like prototypes', () => {
  it('keeps __proto__ from provider data as a plain key, in outputs and in history', async () => {
    const transport = handlerTransport(() => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"__proto__":{"polluted":true},"ok":1}' }));
    const result = await run(
      [
        { id: 'get', type: 'http', url: 'https://x.test/', method: 'GET' },
        { id: 'copy', type: 'objectConstruct', base: { $ref: 'get.body' }, values: { extra: 2 } },
        { type: 'return', values: { copy: { $ref: 'copy.object' } } },
      ],
      { copy: 'object' },
      { transport },
    );
    const copy = result.outputs?.copy as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.equal((copy as { polluted?: unknown }).polluted, undefined);
    assert.deepEqual(Object.keys(copy), ['__proto__', 'ok', 'extra']);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});

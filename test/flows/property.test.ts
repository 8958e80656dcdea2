/**
 * Property test: random card graphs (random card types, nesting, references that may or may not resolve, helper
 * calls that may recurse) either fail to compile with located messages, or run to completion within the bounds, ending
 * in success or in one of the documented flow errors. Never a crash, never a hang, never an unlocated error.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { PlugboardError } from '../../src/core/errors.ts';
import { compileConnectorFlows, handlerTransport, runFlow } from '../../src/flows/index.ts';
import type { CardDef, FlowDefinition, FlowValue } from '../../src/flows/schema.ts';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];
const OUTPUTS = ['x', 'value', 'text', 'object', 'result', 'statusCode', 'body', 'nope'];
const HELPERS = ['h1', 'h2'];

const literal: fc.Arbitrary<FlowValue> = fc.oneof(fc.integer({ min: -5, max: 500 }), fc.constantFrom('', 'text', '200', '{"k":1}'), fc.boolean(), fc.constant(null));
const cardRef: fc.Arbitrary<FlowValue> = fc.tuple(fc.constantFrom(...IDS), fc.constantFrom(...OUTPUTS)).map(([id, out]) => ({ $ref: `${id}.${out}` }));
const rootRef: fc.Arbitrary<FlowValue> = fc.constantFrom({ $ref: 'auth.accessToken' }, { $ref: 'auth' }, { $ref: 'input.n' }, { $ref: 'auth.configuration.region' });
const badRef: fc.Arbitrary<FlowValue> = fc.constantFrom({ $ref: 'error.message' }, { $ref: 'bad..ref' }, { $ref: 'auth.acessToken' });
const anyValue: fc.Arbitrary<FlowValue> = fc.oneof(
  { weight: 30, arbitrary: literal },
  { weight: 10, arbitrary: rootRef },
  { weight: 3, arbitrary: cardRef },
  { weight: 1, arbitrary: badRef },
  { weight: 2, arbitrary: fc.constantFrom({ $template: 'n={{ input.n }}' }, { $template: 'v={{ a.value }}' }) },
  { weight: 3, arbitrary: fc.dictionary(fc.constantFrom('k1', 'k2'), literal, { maxKeys: 2 }) },
);
/** Values that always resolve: graphs built only from these mostly compile, so the run side gets exercised. */
const safeValue: fc.Arbitrary<FlowValue> = fc.oneof({ weight: 4, arbitrary: literal }, { weight: 1, arbitrary: rootRef });
const comparison = fc.constantFrom('equal', 'notEqual', 'greater', 'less', 'atLeast', 'atMost', 'in', 'notIn', 'hasKey', 'contains') as fc.Arbitrary<'equal'>;
const id = fc.option(fc.constantFrom(...IDS), { nil: undefined, freq: 1 });

function card(depth: number, value: fc.Arbitrary<FlowValue>): fc.Arbitrary<CardDef> {
  const simple: fc.Arbitrary<CardDef>[] = [
    fc.record({ id, type: fc.constant('assign' as const), values: fc.dictionary(fc.constantFrom('x', 'value'), literal, { maxKeys: 2 }) }),
    fc.record({ id, type: fc.constant('assign' as const), values: fc.dictionary(fc.constantFrom('x', 'value'), value, { maxKeys: 2 }) }),
    fc.record({ id, type: fc.constant('assignIf' as const), a: value, comparison, b: value, ifTrue: value, ifFalse: value }),
    fc.record({ id, type: fc.constant('continueIf' as const), a: value, comparison, b: value }),
    fc.record({ id, type: fc.constant('objectConstruct' as const), values: fc.dictionary(fc.constantFrom('p', 'q'), value, { maxKeys: 2 }) }),
    fc.record({ id, type: fc.constant('objectGet' as const), object: value, path: fc.constantFrom('', 'k1', 'p.q', '0') }),
    fc.record({ id, type: fc.constant('textCompose' as const), template: fc.constantFrom('hi', '{{ a.text }}{{ a.text }}', '{{ b.value }}', '{{ input.n }}') }),
    fc.record({ id, type: fc.constant('jsonParse' as const), text: value }),
    fc.record({ id, type: fc.constant('jsonStringify' as const), value }),
    fc.record({ id, type: fc.constant('http' as const), url: fc.constantFrom('https://api.test/x', 'not a url', { $ref: 'a.text' }), method: fc.constantFrom('GET', 'POST'), failOnHttpError: fc.boolean() }),
    fc.record({ id, type: fc.constant('callFlow' as const), flow: fc.constantFrom(...HELPERS, ...HELPERS, 'missing') }),
  ];
  const ending: fc.Arbitrary<CardDef>[] = [
    fc.record({ id, type: fc.constant('returnError' as const), message: value }),
    fc.record({ type: fc.constant('return' as const), values: fc.dictionary(fc.constant('x'), value, { maxKeys: 1 }) }),
  ];
  const weighted = [...simple.map((arbitrary) => ({ weight: 6, arbitrary })), ...ending.map((arbitrary) => ({ weight: 1, arbitrary }))];
  if (depth <= 0) return fc.oneof(...weighted);
  return fc.oneof(
    ...weighted,
    fc.record({
      id,
      type: fc.constant('ifError' as const),
      try: fc.array(card(depth - 1, value), { maxLength: 3 }),
      catch: fc.array(card(depth - 1, value), { maxLength: 2 }),
      outputs: fc.dictionary(fc.constantFrom('x', 'value'), fc.record({ try: value, catch: value }, { requiredKeys: [] }), { maxKeys: 2 }),
    }),
  );
}

const flowsOf = (value: fc.Arbitrary<FlowValue>): fc.Arbitrary<FlowDefinition[]> => fc
  .tuple(fc.array(card(2, value), { maxLength: 8 }), fc.array(card(1, value), { maxLength: 4 }), fc.array(card(1, value), { maxLength: 4 }), fc.boolean())
  .map(([main, h1, h2, declareOutputs]) => [
    {
      name: 'main',
      kind: 'action',
      saveData: true,
      inputs: { n: 'number' },
      ...(declareOutputs ? { outputs: { x: 'any' } } : {}),
      cards: declareOutputs ? [...main, { type: 'return', values: { x: { $ref: 'input.n' } } }] : main,
    } as FlowDefinition,
    { name: 'h1', kind: 'helper', inputs: { n: 'number' }, cards: h1 } as FlowDefinition,
    { name: 'h2', kind: 'helper', inputs: { n: 'number' }, cards: h2 } as FlowDefinition,
  ]);
const flows = fc.oneof(flowsOf(anyValue), flowsOf(safeValue));

const ALLOWED_RUN_ERRORS = new Set(['FLOW_FAILED', 'FLOW_LIMIT_EXCEEDED', 'PROVIDER_ERROR', 'PROVIDER_UNREACHABLE']);
const transport = handlerTransport((req) => ({
  statusCode: req.method === 'POST' ? 500 : 200,
  headers: { 'content-type': 'application/json' },
  body: '{"ok":true}',
}));

let fileCounter = 0;

it('random card graphs compile with located errors or run to completion within bounds', async () => {
  let compiledCount = 0;
  let rejectedCount = 0;
  await fc.assert(
    fc.asyncProperty(flows, fc.integer({ min: 1, max: 40 }), async (definitions, maxCards) => {
      const file = `connectors/random-${fileCounter++}.yaml`;
      let compiled;
      try {
        compiled = compileConnectorFlows(definitions, { file, connectorKey: 'random', maxCallDepth: 3 });
      } catch (error) {
        assert.ok(error instanceof PlugboardError, `compile threw ${String(error)}`);
        assert.equal(error.code, 'FLOW_COMPILE_FAILED');
        assert.ok(error.details !== undefined && error.details.length > 0);
        for (const detail of error.details) {
          assert.ok(detail.path.startsWith(`${file}#flows`), `unlocated: ${detail.path}`);
          assert.ok(detail.message.length > 0);
        }
        rejectedCount++;
        return;
      }
      compiledCount++;
      const started = performance.now();
      const result = await runFlow(compiled, 'main', { inputs: { n: 3 }, transport, limits: { maxCards, timeoutMs: 2_000, maxBodyBytes: 4096, maxCallDepth: 3 } });
      assert.ok(performance.now() - started < 2_500);
      if (result.status === 'failed') {
        assert.ok(result.error instanceof PlugboardError);
        assert.ok(ALLOWED_RUN_ERRORS.has(result.error.code), `unexpected ${result.error.code}: ${result.error.message}`);
      } else {
        assert.ok(result.outputs !== null && typeof result.outputs === 'object');
      }
    }),
    { numRuns: 300 },
  );
  // The generator must exercise both sides of the property, or it proves little.
  assert.ok(compiledCount > 10, `only ${compiledCount} graphs compiled`);
  assert.ok(rejectedCount > 10, `only ${rejectedCount} graphs were rejected`);
});

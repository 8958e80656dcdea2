/**
 * Flow engine overhead: a 10-card flow shaped like seed 000's `_revoke` (If Error around Call Flow httpHelper, Assign,
 * Assign If, two Object Constructs, Return; the helper adds credentials, makes the HTTP request and returns) with its
 * HTTP card answered in-process, against the same logic hand-written in TypeScript calling the same transport, in the
 * same run. Variants: hand-written (baseline), engine with history off, engine with history on (saveData, redaction,
 * in-memory sink). Each round runs every variant for a batch of executions, the order reversed every other round, so
 * load from other processes hits all variants alike; the report gives the median time per execution over rounds and
 * the median of the per-round ratios to the baseline.
 *
 *   node bench/flows.ts [--rounds 31] [--batch 1000] [--json]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compileConnectorFlows, handlerTransport, MemoryExecutionSink, runFlow, type FlowDefinition, type HttpResponse } from '../src/flows/index.ts';
import { MANUAL_TEXT, REVOKE, REVOKE_URL, REVOKED_MESSAGE, UNREGISTER_URL } from '../test/flows/fixtures.ts';
import { arg } from './args.ts';

const ROUNDS = arg('rounds', 31, { integer: true });
const BATCH = arg('batch', 1000, { integer: true });
const JSON_OUTPUT = process.argv.includes('--json');

const helper: FlowDefinition = {
  name: 'httpHelper',
  kind: 'helper',
  inputs: { relative_url: { type: 'text', required: true }, request_method: { type: 'text', required: true }, query: 'object', headers: 'object', body: 'any', connection: 'object' },
  outputs: { status_code: 'number', headers: 'object', body: 'any' },
  cards: [
    { id: 'credentials', type: 'objectConstruct', base: { $ref: 'input.headers' }, values: { Authorization: { $template: 'Bearer {{ input.connection.accessToken }}' } }, output: 'headers' },
    { id: 'request', type: 'http', url: { $ref: 'input.relative_url' }, method: { $ref: 'input.request_method' }, headers: { $ref: 'credentials.headers' }, query: { $ref: 'input.query' }, body: { $ref: 'input.body' } },
    { type: 'return', values: { status_code: { $ref: 'request.statusCode' }, headers: { $ref: 'request.headers' }, body: { $ref: 'request.body' } } },
  ],
};

const revoke = (saveData: boolean): FlowDefinition => ({ ...REVOKE, saveData });

const auth = {
  accessToken: 'at_7f3a9b2c4d5e6f708192a3b4c5d6e7f8',
  refreshToken: 'rt_0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  clientId: 'plugboard-demo',
  clientSecret: 'cs_live_5f2b8c1e9a7d3b6f',
  baseUrl: 'https://api.box.test',
};

const answer: HttpResponse = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
const transport = handlerTransport(() => answer);

const historyOff = compileConnectorFlows([helper, revoke(false)], { file: 'bench/box.yaml', connectorKey: 'box-off' });
const historyOn = compileConnectorFlows([helper, revoke(true)], { file: 'bench/box.yaml', connectorKey: 'box-on' });
const sink = new MemoryExecutionSink(100);

/** The same revoke written by hand: what a connector author would write without the engine. */
async function handwritten(): Promise<unknown> {
  let statusCode: number;
  let message: string;
  try {
    const url = new URL(REVOKE_URL);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${auth.accessToken}` };
    const body = new URLSearchParams({ client_id: auth.clientId, client_secret: auth.clientSecret, token: auth.refreshToken }).toString();
    const response = await transport.request({ url: url.toString(), method: 'POST', headers, body, timeoutMs: 10_000, maxBodyBytes: 5 << 20 });
    const text = typeof response.body === 'string' ? response.body : Buffer.from(response.body).toString('utf8');
    const parsed: unknown = (response.headers['content-type'] ?? '').startsWith('application/json') ? JSON.parse(text) : text;
    if (parsed === undefined) throw new Error('no body');
    statusCode = response.statusCode;
    message = REVOKED_MESSAGE;
  } catch (error) {
    statusCode = 0;
    message = (error as Error).message;
  }
  return { revoked: statusCode === 200, message: { unregisterURL: UNREGISTER_URL, text: MANUAL_TEXT }, serviceResponse: { statusCode, body: message } };
}

const variants = {
  handwritten,
  engine: async () => {
    const result = await runFlow(historyOff, '_revoke', { auth, transport });
    if (result.status !== 'succeeded') throw new Error(`bench flow failed: ${result.error?.message}`);
  },
  engineWithHistory: async () => {
    const result = await runFlow(historyOn, '_revoke', { auth, transport, sink });
    if (result.status !== 'succeeded') throw new Error(`bench flow failed: ${result.error?.message}`);
  },
} as const;
type Variant = keyof typeof variants;
const NAMES = Object.keys(variants) as Variant[];

// A full collection before each batch, so no variant pays for the garbage the previous one left behind.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

async function batch(variant: Variant, n: number): Promise<number> {
  const fn = variants[variant];
  collect();
  const started = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - started) * 1000) / n;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Sanity: the engine and the hand-written version agree, and history on records every card.
const check = await runFlow(historyOn, '_revoke', { auth, transport, sink });
const reference = await handwritten();
if (JSON.stringify(check.outputs) !== JSON.stringify(reference)) throw new Error('the engine and the hand-written revoke disagree');
if (sink.records.at(-1)?.cards.length !== 10) throw new Error(`expected 10 cards executed, got ${sink.records.at(-1)?.cards.length}`);

for (const name of NAMES) await batch(name, Math.max(500, BATCH >> 1));

const samples: Record<Variant, number[]> = { handwritten: [], engine: [], engineWithHistory: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? NAMES : [...NAMES].reverse();
  for (const name of order) samples[name].push(await batch(name, BATCH));
}

const perRound = (a: Variant, b: Variant, op: (x: number, y: number) => number) => median(samples[a].map((value, i) => op(value, samples[b][i])));
const result = {
  rounds: ROUNDS,
  batch: BATCH,
  cardsPerExecution: 10,
  usPerExecution: Object.fromEntries(NAMES.map((name) => [name, Number(median(samples[name]).toFixed(2))])) as Record<Variant, number>,
  ratio: {
    engineToHandwritten: Number(perRound('engine', 'handwritten', (x, y) => x / y).toFixed(2)),
    historyToEngine: Number(perRound('engineWithHistory', 'engine', (x, y) => x / y).toFixed(2)),
  },
  addedByInterpretationUs: Number(perRound('engine', 'handwritten', (x, y) => x - y).toFixed(2)),
  addedByHistoryUs: Number(perRound('engineWithHistory', 'engine', (x, y) => x - y).toFixed(2)),
  node: process.version,
};

if (JSON_OUTPUT) {
  console.log(JSON.stringify(result, null, 2));
} else {
  console.log(`flow engine, 10-card _revoke-shaped flow, HTTP answered in-process (${ROUNDS} rounds x ${BATCH} executions, median)`);
  for (const name of NAMES) console.log(`  ${name.padEnd(18)} ${result.usPerExecution[name].toFixed(2).padStart(8)} us/execution`);
  console.log(`  engine / hand-written:     ${result.ratio.engineToHandwritten}x (target <= 5x; median of per-round ratios)`);
  console.log(`  added by interpretation:   ${result.addedByInterpretationUs} us`);
  console.log(`  engine overhead:           ${result.usPerExecution.engine} us (target <= 20 us)`);
  console.log(`  history on adds:           ${result.addedByHistoryUs} us (${result.ratio.historyToEngine}x)`);
}

/**
 * The interpreter: walks a compiled flow tree card by card, within the execution's bounds (cards executed, call depth,
 * wall-clock time, body size, cancellation). Cards are plain functions in `cards/`; the walk itself owns ordering,
 * Return, limits, the origin of errors (for If Error) and the per-card trace that becomes execution history. When the
 * execution ends it hands one redacted record to the sink, if there is one.
 */
import { randomUUID } from 'node:crypto';
import { PlugboardError, type ErrorDetail } from '../core/errors.ts';
import { clientBasicCredentials } from '../core/form.ts';
import { runAssign } from './cards/assign.ts';
import { runAssignIf } from './cards/assignIf.ts';
import { runCallFlow } from './cards/callFlow.ts';
import { runContinueIf } from './cards/continueIf.ts';
import { runHttp } from './cards/http.ts';
import { runIfError } from './cards/ifError.ts';
import { runJsonParse } from './cards/jsonParse.ts';
import { runJsonStringify } from './cards/jsonStringify.ts';
import { runObjectConstruct } from './cards/objectConstruct.ts';
import { runObjectGet } from './cards/objectGet.ts';
import { runReturn } from './cards/return.ts';
import { runReturnError } from './cards/returnError.ts';
import { runTextCompose } from './cards/textCompose.ts';
import { recordCards, recordError, recordValue, round, type ExecutionRecord, type ExecutionSink, type ExecutionStatus } from './history.ts';
import { createRedactor, type Redactor } from './redact.ts';
import {
  DEFAULT_LIMITS,
  errorOrigins,
  limitExceeded,
  type CardTrace,
  type Completion,
  type FlowLimits,
  type Frame,
  type Run,
} from './runtime.ts';
import type { ValueType } from './schema.ts';
import { didYouMean } from './suggest.ts';
import type { CardNode, CompiledConnectorFlows, CompiledFlow } from './tree.ts';
import { undiciTransport, type HttpTransport } from './transport.ts';

/** The auth object fields whose values come from the vault; they are always redacted from history. */
export const SECRET_AUTH_FIELDS = ['accessToken', 'refreshToken', 'clientSecret', 'password', 'apiKey', 'clientBasicAuth'] as const;

export interface RunOptions {
  inputs?: Record<string, unknown>;
  /** The connection's auth object (see `docs/flows.md`). */
  auth?: Record<string, unknown>;
  /** More vault values to redact, beyond the auth object's secret fields. */
  secrets?: Iterable<string>;
  limits?: Partial<FlowLimits>;
  /** How HTTP cards reach the network; undici with the global dispatcher when omitted. */
  transport?: HttpTransport;
  sink?: ExecutionSink;
  signal?: AbortSignal;
  /** Labels stored with the execution record, e.g. `{ orgId, connectionId }`. */
  context?: Record<string, string>;
}

export interface RunResult {
  /** The flow's outputs; null when the execution failed. */
  outputs: Record<string, unknown> | null;
  executionId: string;
  status: ExecutionStatus;
  /** Why it failed; its message and provider message are redacted. */
  error?: PlugboardError;
  /** False when a sink was given and writing to it failed. */
  historySaved?: boolean;
}

let defaultTransport: HttpTransport | undefined;

/**
 * Derives `auth.clientBasicAuth` from the OAuth app's client id and secret, so revoke flows of providers that demand
 * `client_secret_basic` can send `Basic {{auth.clientBasicAuth}}` (flows have no base64 card).
 * @see RFC 6749 §2.3.1: id and secret are form-urlencoded, joined by ':' and base64-encoded (RFC 7617 §2).
 */
function withClientBasicAuth(auth: Record<string, unknown>): Record<string, unknown> {
  const { clientId, clientSecret } = auth;
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string' || auth.clientBasicAuth !== undefined) return auth;
  // Only flows that refer to it get it (the compiler says which), so it is computed at once: a plain property keeps
  // the copy a fast object, where a getter would not, and the last client's value is remembered below.
  return { ...auth, clientBasicAuth: clientBasicAuthOf(clientId, clientSecret) };
}

/** The last client's value: revocations of an erasure run one after another for the same OAuth client. */
let lastBasicAuth: { clientId: string; clientSecret: string; value: string } | null = null;

function clientBasicAuthOf(clientId: string, clientSecret: string): string {
  const last = lastBasicAuth;
  if (last !== null && last.clientId === clientId && last.clientSecret === clientSecret) return last.value;
  const value = clientBasicCredentials(clientId, clientSecret);
  lastBasicAuth = { clientId, clientSecret, value };
  return value;
}

/**
 * Run one flow of a compiled connector. Throws NOT_FOUND for an unknown flow and VALIDATION_FAILED for bad inputs
 * (caller mistakes); everything that goes wrong while running is returned as `status: 'failed'` with the error.
 */
export async function runFlow(compiled: CompiledConnectorFlows, flowName: string, options: RunOptions = {}): Promise<RunResult> {
  const flow = Object.hasOwn(compiled.flows, flowName) ? compiled.flows[flowName] : undefined;
  if (flow === undefined) {
    throw new PlugboardError('NOT_FOUND', `connector '${compiled.connectorKey}' has no flow '${flowName}'${didYouMean(flowName, Object.keys(compiled.flows))}`);
  }
  const inputs = checkInputs(flow, options.inputs ?? {});
  const limits: FlowLimits = options.limits === undefined ? DEFAULT_LIMITS : { ...DEFAULT_LIMITS, ...options.limits };
  const auth = compiled.usesClientBasicAuth ? withClientBasicAuth(options.auth ?? {}) : (options.auth ?? {});
  const executionId = `exe_${randomUUID()}`;
  const startedAt = performance.now();
  const startedAtEpoch = Date.now();
  const traces: CardTrace[] | null = options.sink !== undefined && flow.saveData ? [] : null;

  const run: Run = {
    connector: compiled,
    executionId,
    auth,
    limits,
    transport: options.transport ?? (defaultTransport ??= undiciTransport()),
    signal: options.signal,
    deadline: startedAt + limits.timeoutMs,
    cardsExecuted: 0,
    responseBytes: 0,
    traces,
    runCards: (cards, frame) => runCards(cards, frame, run),
    callFlow: (helper, helperInputs, depth) => callFlow(helper, helperInputs, depth, run),
  };

  let outputs: Record<string, unknown> | null = null;
  let error: PlugboardError | undefined;
  try {
    outputs = await callFlow(flow, inputs, 0, run);
  } catch (caught) {
    error = asPlugboardError(caught, flow);
  }
  const durationMs = performance.now() - startedAt;

  let redactor: Redactor | undefined;
  const getRedactor = () => (redactor ??= createRedactor(secretsOf(auth, options.secrets)));
  if (error !== undefined) error = redactError(error, getRedactor());

  const result: RunResult = { outputs, executionId, status: error === undefined ? 'succeeded' : 'failed' };
  if (error !== undefined) result.error = error;
  if (options.sink !== undefined) {
    const record: ExecutionRecord = {
      id: executionId,
      connectorKey: compiled.connectorKey,
      flow: flow.name,
      flowKind: flow.flowKind,
      status: result.status,
      startedAt: new Date(startedAtEpoch).toISOString(),
      finishedAt: new Date(startedAtEpoch + durationMs).toISOString(),
      durationMs: round(durationMs),
      cardsExecuted: run.cardsExecuted,
      saveData: flow.saveData,
      inputs: flow.saveData ? recordValue(inputs, getRedactor()) : null,
      outputs: flow.saveData ? recordValue(outputs, getRedactor()) : null,
      error: error === undefined ? null : recordError(errorRecord(error), getRedactor()),
      cards: traces === null ? [] : recordCards(traces, getRedactor(), startedAt, startedAtEpoch),
      context: { ...options.context },
    };
    try {
      await options.sink.write(record);
      result.historySaved = true;
    } catch {
      // History is best effort: the flow already ran (and may have revoked a token); its result must still reach the caller.
      result.historySaved = false;
    }
  }
  return result;
}

async function callFlow(flow: CompiledFlow, inputs: Record<string, unknown>, depth: number, run: Run): Promise<Record<string, unknown>> {
  if (depth > run.limits.maxCallDepth) throw limitExceeded(`Call Flow nested deeper than ${run.limits.maxCallDepth} calls`);
  const frame: Frame = { flow, inputs, slots: new Array<unknown>(flow.slotCount), error: null, depth };
  const completion = await runCards(flow.cards, frame, run);
  if (completion !== null) return completion.values;
  const outputs: Record<string, unknown> = {};
  for (const output of flow.outputs) outputs[output.name] = null;
  return outputs;
}

async function runCards(cards: readonly CardNode[], frame: Frame, run: Run): Promise<Completion> {
  for (let i = 0; i < cards.length; i++) {
    const card = cards[i];
    if (++run.cardsExecuted > run.limits.maxCards) throw limitExceeded(`the execution ran more than ${run.limits.maxCards} cards`);
    // Reading the clock is a noticeable share of a card's cost: read it every 8th card (cards that wait, HTTP and
    // retries, check the deadline themselves) and whenever a trace needs the time.
    const now = run.traces !== null || (run.cardsExecuted & 7) === 0 ? performance.now() : 0;
    if (now > run.deadline) throw limitExceeded(`the execution ran longer than ${run.limits.timeoutMs} ms`);
    if (run.signal?.aborted === true) throw limitExceeded('the execution was cancelled');
    let trace: CardTrace | null = null;
    if (run.traces !== null) {
      trace = {
        seq: run.traces.length,
        flow: frame.flow.name,
        card: card.locator,
        cardId: card.id,
        type: card.kind,
        depth: frame.depth,
        startedAt: now,
        durationMs: 0,
        inputs: null,
        outputs: null,
        error: null,
      };
      run.traces.push(trace);
    }
    try {
      const result = execute(card, frame, run, trace);
      const outputs = result instanceof Promise ? await result : result;
      if (trace !== null) {
        trace.outputs = outputs;
        trace.durationMs = performance.now() - now;
      }
      if (card.kind === 'return') return { values: outputs };
      frame.slots[card.slot] = outputs;
    } catch (error) {
      if (error !== null && typeof error === 'object' && !errorOrigins.has(error)) {
        errorOrigins.set(error, { card: card.locator, flow: frame.flow.name });
      }
      if (trace !== null) {
        trace.durationMs = performance.now() - now;
        trace.error = errorRecord(error);
      }
      throw error;
    }
  }
  return null;
}

function execute(card: CardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> | Promise<Record<string, unknown>> {
  switch (card.kind) {
    case 'http':
      return runHttp(card, frame, run, trace);
    case 'callFlow':
      return runCallFlow(card, frame, run, trace);
    case 'ifError':
      return runIfError(card, frame, run, trace);
    case 'assign':
      return runAssign(card, frame, run, trace);
    case 'assignIf':
      return runAssignIf(card, frame, run, trace);
    case 'continueIf':
      return runContinueIf(card, frame, run, trace);
    case 'objectConstruct':
      return runObjectConstruct(card, frame, run, trace);
    case 'objectGet':
      return runObjectGet(card, frame, run, trace);
    case 'textCompose':
      return runTextCompose(card, frame, run, trace);
    case 'jsonParse':
      return runJsonParse(card, frame, run, trace);
    case 'jsonStringify':
      return runJsonStringify(card, frame, run, trace);
    case 'return':
      return runReturn(card, frame, run, trace);
    case 'returnError':
      return runReturnError(card, frame, run, trace);
  }
}

function checkInputs(flow: CompiledFlow, given: Record<string, unknown>): Record<string, unknown> {
  if (flow.inputs.length === 0) {
    let empty = true;
    for (const _ in given) empty = false;
    if (empty) return given;
  }
  const details: ErrorDetail[] = [];
  const known = new Set(flow.inputs.map((input) => input.name));
  for (const name of Object.keys(given)) {
    if (!known.has(name)) details.push({ path: `inputs.${name}`, message: `flow '${flow.name}' has no input '${name}'${didYouMean(name, known)}` });
  }
  for (const input of flow.inputs) {
    const value = given[input.name];
    if (value === undefined || value === null) {
      if (input.required) details.push({ path: `inputs.${input.name}`, message: `required input '${input.name}' (${input.type}) is missing` });
    } else if (!hasType(value, input.type)) {
      details.push({ path: `inputs.${input.name}`, message: `expected ${input.type}, got ${describeType(value)}` });
    }
  }
  if (details.length > 0) {
    throw new PlugboardError('VALIDATION_FAILED', `the inputs of flow '${flow.name}' are not valid: ${details[0].path}: ${details[0].message}`, { details });
  }
  return given;
}

function hasType(value: unknown, type: ValueType): boolean {
  switch (type) {
    case 'any':
      return true;
    case 'text':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'list':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
  }
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string' ? 'text' : typeof value;
}

function secretsOf(auth: Record<string, unknown>, extra: Iterable<string> | undefined): string[] {
  const secrets: string[] = [];
  for (const field of SECRET_AUTH_FIELDS) {
    const value = auth[field];
    if (typeof value === 'string' && value !== '') secrets.push(value);
  }
  if (extra !== undefined) for (const secret of extra) if (typeof secret === 'string' && secret !== '') secrets.push(secret);
  return secrets;
}

function asPlugboardError(error: unknown, flow: CompiledFlow): PlugboardError {
  if (error instanceof PlugboardError) return error;
  const origin = error !== null && typeof error === 'object' ? errorOrigins.get(error) : undefined;
  const where = origin === undefined ? `flow '${flow.name}'` : `${origin.flow} ${origin.card}`;
  return new PlugboardError('FLOW_FAILED', `the card at ${where} failed unexpectedly`, { cause: error });
}

function redactError(error: PlugboardError, redactor: Redactor): PlugboardError {
  if (!redactor.active) return error;
  const options: ConstructorParameters<typeof PlugboardError>[2] = {};
  if (error.details !== undefined) options.details = error.details.map((detail) => ({ path: redactor.redactString(detail.path), message: redactor.redactString(detail.message) }));
  if (error.providerMessage !== undefined) options.providerMessage = redactor.redactValue(error.providerMessage);
  if (error.headers !== undefined) options.headers = error.headers;
  options.status = error.status;
  const redacted = new PlugboardError(error.code, redactor.redactString(error.message), options);
  const origin = errorOrigins.get(error);
  if (origin !== undefined) errorOrigins.set(redacted, origin);
  return redacted;
}

function errorRecord(error: unknown): { code: string; message: string; details?: ErrorDetail[] } {
  if (error instanceof PlugboardError) {
    return error.details === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, details: error.details };
  }
  return { code: 'FLOW_FAILED', message: error instanceof Error ? `${error.name}: unexpected failure` : 'unexpected failure' };
}

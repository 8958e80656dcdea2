/**
 * Execution history: what the engine hands to an ExecutionSink when an execution ends. Every execution gets a summary
 * (flow, status, timing, error); a flow with `saveData` also gets its inputs, outputs and each card's inputs, outputs,
 * timing and error. Before anything reaches a sink, every vault value is replaced by `[redacted]` (see `redact.ts`) and
 * each recorded value is bounded in size, so a sink can store what it receives as is.
 */
import type { ErrorDetail } from '../core/errors.ts';
import type { Redactor } from './redact.ts';
import { jsonSizeUpTo, type CardTrace } from './runtime.ts';
import type { FlowKind } from './schema.ts';

export type ExecutionStatus = 'succeeded' | 'failed';

export interface RecordedError {
  code: string;
  message: string;
  details?: ErrorDetail[];
}

export interface CardRecord {
  /** Order of execution within the execution, from 0, across called helpers. */
  seq: number;
  /** The flow the card belongs to (a helper's name for cards run by Call Flow). */
  flow: string;
  /** Where the card is in its flow: `cards[attempt].try[call]`. */
  card: string;
  cardId: string | null;
  type: string;
  /** Call depth: 0 for the executed flow, 1 inside a helper it called, ... */
  depth: number;
  startedAt: string;
  durationMs: number;
  inputs: unknown;
  outputs: unknown;
  error: RecordedError | null;
}

export interface ExecutionRecord {
  id: string;
  connectorKey: string;
  flow: string;
  flowKind: FlowKind;
  status: ExecutionStatus;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  cardsExecuted: number;
  /** Whether inputs, outputs and cards were recorded (the flow's "save all data" flag). */
  saveData: boolean;
  inputs: unknown;
  outputs: unknown;
  error: RecordedError | null;
  cards: CardRecord[];
  /** Caller-supplied labels, e.g. `{ orgId, connectionId }`, stored alongside. */
  context: Readonly<Record<string, string>>;
}

/** Where finished executions go. The engine awaits `write`; a failure there does not change the flow's result. */
export interface ExecutionSink {
  write(record: ExecutionRecord): Promise<void>;
}

/** Keeps the last `limit` records in memory: for tests, dry runs and the benchmark. */
export class MemoryExecutionSink implements ExecutionSink {
  readonly records: ExecutionRecord[] = [];
  readonly limit: number;

  constructor(limit = 1_000) {
    this.limit = limit;
  }

  async write(record: ExecutionRecord): Promise<void> {
    this.records.push(record);
    if (this.records.length > this.limit) this.records.splice(0, this.records.length - this.limit);
  }
}

/** Largest recorded value (as JSON) per card input/output; bigger values are replaced by a marker. */
export const MAX_RECORDED_VALUE_BYTES = 64 * 1024;

/** Redact and bound one value for history. Bounding first: a shared-structure value must not be walked in full. */
export function recordValue(value: unknown, redactor: Redactor): unknown {
  if (value === undefined) return null;
  const size = jsonSizeUpTo(value, MAX_RECORDED_VALUE_BYTES);
  if (size > MAX_RECORDED_VALUE_BYTES) return { truncated: true, reason: `larger than ${MAX_RECORDED_VALUE_BYTES} bytes` };
  return redactor.redactValue(value);
}

export function recordError(error: RecordedError | null, redactor: Redactor): RecordedError | null {
  if (error === null) return null;
  const out: RecordedError = { code: error.code, message: redactor.redactString(error.message) };
  if (error.details !== undefined) {
    out.details = error.details.map((detail) => ({ path: redactor.redactString(detail.path), message: redactor.redactString(detail.message) }));
  }
  return out;
}

export function recordCards(traces: readonly CardTrace[], redactor: Redactor, epoch: number, epochIso: number): CardRecord[] {
  const iso = isoFormatter();
  return traces.map((trace) => ({
    seq: trace.seq,
    flow: trace.flow,
    card: trace.card,
    cardId: trace.cardId,
    type: trace.type,
    depth: trace.depth,
    startedAt: iso(epochIso + (trace.startedAt - epoch)),
    durationMs: round(trace.durationMs),
    inputs: recordValue(trace.inputs, redactor),
    outputs: recordValue(trace.outputs, redactor),
    error: recordError(trace.error, redactor),
  }));
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * ISO-8601 UTC timestamps for many instants within the same few seconds: `Date#toISOString` costs over a microsecond,
 * so the part up to the second is formatted once per second and the milliseconds appended.
 */
function isoFormatter(): (epochMs: number) => string {
  let second = Number.NaN;
  let prefix = '';
  return (epochMs: number) => {
    const whole = Math.floor(epochMs);
    const s = Math.floor(whole / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 20);
    }
    return `${prefix}${String(whole - s * 1000).padStart(3, '0')}Z`;
  };
}

/**
 * What the interpreter and the cards share while one execution runs: the limits, the frame of each flow call, the
 * running state of the execution, and the evaluation of compiled values (references, templates, lists, objects).
 * Bounds live here too, so every card checks them the same way: a value too large, too many cards, too deep, too late.
 */
import { PlugboardError } from '../core/errors.ts';
import type { Comparison } from './schema.ts';
import type { CardNode, CompiledConnectorFlows, CompiledFlow, Entries, ValueNode } from './tree.ts';
import type { HttpTransport } from './transport.ts';

export interface FlowLimits {
  /** Cards executed per execution, counting every card in every called helper. */
  maxCards: number;
  /** Nested Call Flow depth. */
  maxCallDepth: number;
  /** Wall-clock time for the whole execution. */
  timeoutMs: number;
  /** Largest HTTP response body, and largest text or JSON a card may build. */
  maxBodyBytes: number;
  /** All HTTP response bodies of the execution together: keeps many cards from holding many large answers. */
  maxTotalBodyBytes: number;
}

export const DEFAULT_LIMITS: Readonly<FlowLimits> = Object.freeze({
  maxCards: 1_000,
  maxCallDepth: 8,
  timeoutMs: 30_000,
  maxBodyBytes: 5 * 1024 * 1024,
  maxTotalBodyBytes: 25 * 1024 * 1024,
});

/** The error object a catch branch sees. */
export interface HandledError {
  message: string;
  code: string;
  card: string;
  flow: string;
  execution: string;
  statusCode?: number;
}

/** One flow call: its inputs, its cards' outputs by slot, and the error a catch branch is handling. */
export interface Frame {
  readonly flow: CompiledFlow;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly slots: unknown[];
  error: HandledError | null;
  readonly depth: number;
}

/** A card's history entry while the execution runs; redacted and bounded when the execution ends. */
export interface CardTrace {
  seq: number;
  flow: string;
  card: string;
  cardId: string | null;
  type: CardNode['kind'];
  depth: number;
  startedAt: number;
  durationMs: number;
  inputs: unknown;
  outputs: unknown;
  error: { code: string; message: string } | null;
}

/** The Return that ended a card list, or null when the list ran to its end. */
export type Completion = { readonly values: Record<string, unknown> } | null;

export interface Run {
  readonly connector: CompiledConnectorFlows;
  readonly executionId: string;
  readonly auth: Readonly<Record<string, unknown>>;
  readonly limits: FlowLimits;
  readonly transport: HttpTransport;
  readonly signal: AbortSignal | undefined;
  /** performance.now() value after which the execution is over its wall-clock bound. */
  readonly deadline: number;
  cardsExecuted: number;
  /** Response body bytes received so far (text bodies counted in UTF-16 units unless they could be near a bound). */
  responseBytes: number;
  /** Card traces, or null when the flow does not save its data. */
  readonly traces: CardTrace[] | null;
  readonly runCards: (cards: readonly CardNode[], frame: Frame) => Promise<Completion>;
  readonly callFlow: (flow: CompiledFlow, inputs: Record<string, unknown>, depth: number) => Promise<Record<string, unknown>>;
}

export function limitExceeded(message: string): PlugboardError {
  return new PlugboardError('FLOW_LIMIT_EXCEEDED', message);
}

export function flowFailed(message: string): PlugboardError {
  return new PlugboardError('FLOW_FAILED', message);
}

/** Which card (and flow) an error came from, recorded by the interpreter where the error first passes. */
export const errorOrigins = new WeakMap<object, { card: string; flow: string }>();

/** Limit and cancellation errors end the execution; If Error does not catch them. */
export function isFatal(error: unknown): boolean {
  return error instanceof PlugboardError && error.code === 'FLOW_LIMIT_EXCEEDED';
}

/** Read a path inside a value: own properties of objects, integer indexes of lists; anything missing gives null. */
export function readPath(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (let i = 0; i < path.length; i++) {
    if (current === null || typeof current !== 'object') return null;
    const key = path[i];
    if (Array.isArray(current)) {
      const index = Number(key);
      current = Number.isInteger(index) && index >= 0 ? current[index] : undefined;
    } else {
      current = Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
    }
    if (current === undefined) return null;
  }
  return current === undefined ? null : current;
}

export function evaluate(node: ValueNode, frame: Frame, run: Run): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'input':
      return readPath(frame.inputs[node.name], node.path);
    case 'auth':
      return readPath(run.auth, node.path);
    case 'card': {
      const outputs = frame.slots[node.slot];
      if (node.name === null) return outputs ?? null;
      if (outputs === undefined || outputs === null) return null;
      return readPath((outputs as Record<string, unknown>)[node.name], node.path);
    }
    case 'error':
      return readPath(frame.error, node.path);
    case 'template': {
      let text = '';
      for (const part of node.parts) {
        text += typeof part === 'string' ? part : asText(evaluate(part, frame, run));
        if (text.length > run.limits.maxBodyBytes) throw limitExceeded(`a text value grew past ${run.limits.maxBodyBytes} characters`);
      }
      return text;
    }
    case 'list':
      return node.items.map((item) => evaluate(item, frame, run));
    case 'object':
      return evaluateEntries(node.entries, frame, run);
  }
}

/**
 * Sets an own property, also for the key `__proto__` (provider JSON may carry it as data): plain assignment would
 * change the object's prototype instead.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function evaluateEntries(entries: Entries, frame: Frame, run: Run): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < entries.length; i++) setOwn(out, entries[i][0], evaluate(entries[i][1], frame, run));
  return out;
}

/** How a value reads inside a template: text as is, null as empty, everything else as JSON. */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Fail when `value` serialized as JSON would exceed `limit` characters, without building the string: values built by
 * Object Construct can share sub-objects, so their JSON can be exponentially larger than the memory they take.
 */
export function assertJsonWithin(value: unknown, limit: number, what: string): void {
  if (jsonSizeUpTo(value, limit) > limit) throw limitExceeded(`${what} is larger than ${limit} bytes`);
}

/** Approximate JSON size of `value`, counting no further than `limit` (returns limit + 1 when larger). */
export function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0;
  const visit = (item: unknown): void => {
    if (size > limit) return;
    if (typeof item === 'string') size += item.length + 2;
    else if (item === null || typeof item !== 'object') size += 8;
    else if (Array.isArray(item)) {
      size += 2;
      for (const element of item) {
        if (size > limit) return;
        visit(element);
        size += 1;
      }
    } else {
      size += 2;
      for (const key of Object.keys(item)) {
        if (size > limit) return;
        size += key.length + 4;
        visit((item as Record<string, unknown>)[key]);
      }
    }
  };
  visit(value);
  return Math.min(size, limit + 1);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    return a.length === list.length && a.every((item, index) => deepEqual(item, list[index]));
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** The comparisons of Assign If and Continue If. Ordering compares numbers with numbers and text with text only. */
export function compare(a: unknown, comparison: Comparison, b: unknown): boolean {
  switch (comparison) {
    case 'equal':
      return deepEqual(a, b);
    case 'notEqual':
      return !deepEqual(a, b);
    case 'greater':
    case 'less':
    case 'atLeast':
    case 'atMost': {
      if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
      if (comparison === 'greater') return a > b;
      if (comparison === 'less') return a < b;
      if (comparison === 'atLeast') return a >= b;
      return a <= b;
    }
    case 'in':
      return Array.isArray(b) && b.some((item) => deepEqual(a, item));
    case 'notIn':
      return !(Array.isArray(b) && b.some((item) => deepEqual(a, item)));
    case 'hasKey':
      return a !== null && typeof a === 'object' && !Array.isArray(a) && typeof b === 'string' && Object.hasOwn(a, b);
    case 'contains':
      if (typeof a === 'string') return typeof b === 'string' && a.includes(b);
      if (Array.isArray(a)) return a.some((item) => deepEqual(item, b));
      return a !== null && typeof a === 'object' && typeof b === 'string' && Object.hasOwn(a, b);
  }
}

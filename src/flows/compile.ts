/**
 * The flow compiler: checks a connector's flows as a whole and turns them into frozen trees (`tree.ts`) the interpreter
 * walks. Shape errors come from the Zod schemas; on top of those it resolves every reference (with "did you mean"),
 * checks types, Call Flow signatures against the helper they call, the system flow rules (at most one authping and one
 * revoke flow, reserved names, fixed outputs), Return coverage, unreachable cards and the depth of the call graph. All
 * problems are collected and thrown together as one FLOW_COMPILE_FAILED whose details each locate the connector file,
 * flow, card and field. Results are cached by definition identity and by content hash, so compiling is done once.
 */
import { createHash } from 'node:crypto';
import { PlugboardError, type ErrorDetail } from '../core/errors.ts';
import {
  FlowsSchema,
  type CardDef,
  type FlowDefinition,
  type FlowInputDef,
  type FlowKind,
  type FlowValue,
  type ValueType,
} from './schema.ts';
import { didYouMean } from './suggest.ts';
import type {
  CardNode,
  CompiledConnectorFlows,
  CompiledFlow,
  Entries,
  IfErrorCardNode,
  ValueNode,
} from './tree.ts';

export interface CompileOptions {
  /** The connector file as shown in errors, e.g. `connectors/box.yaml`. */
  file: string;
  connectorKey: string;
  /** Longest allowed chain of Call Flow cards (the interpreter enforces the same bound at run time). */
  maxCallDepth?: number;
}

export const DEFAULT_MAX_CALL_DEPTH = 8;
export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

/** Names no card id may take: they are the roots of references. */
const RESERVED_CARD_IDS = ['input', 'auth', 'error'] as const;

/** What the platform reads back from each system flow. */
export const SYSTEM_FLOW_OUTPUTS: Readonly<Record<'authping' | 'revoke', Readonly<Record<string, ValueType>>>> = Object.freeze({
  authping: Object.freeze({ working: 'boolean', message: 'text', serviceResponse: 'object' }),
  revoke: Object.freeze({ revoked: 'boolean', message: 'object', serviceResponse: 'object' }),
});
const SYSTEM_FLOW_NAMES: Readonly<Record<string, FlowKind>> = { _authping: 'authping', _revoke: 'revoke' };

/** The auth object's fields and their types (`docs/flows.md`, "The auth object"). */
export const AUTH_FIELDS: Readonly<Record<string, ValueType>> = Object.freeze({
  accessToken: 'text',
  refreshToken: 'text',
  tokenType: 'text',
  expiresAt: 'text',
  clientId: 'text',
  clientSecret: 'text',
  username: 'text',
  password: 'text',
  apiKey: 'text',
  clientBasicAuth: 'text',
  baseUrl: 'text',
  configuration: 'object',
});

/** The fields of the error object inside an If Error catch branch. */
const ERROR_FIELDS: Readonly<Record<string, ValueType>> = {
  message: 'text',
  code: 'text',
  card: 'text',
  flow: 'text',
  execution: 'text',
  statusCode: 'number',
};

const CARD_OUTPUT_DEFAULTS = {
  assignIf: 'result',
  objectConstruct: 'object',
  objectGet: 'value',
  textCompose: 'text',
  jsonParse: 'value',
  jsonStringify: 'text',
} as const;

interface Signature {
  name: string;
  kind: FlowKind;
  inputs: Map<string, { type: ValueType; required: boolean }>;
  outputs: Map<string, ValueType>;
}

interface VisibleCard {
  slot: number;
  outputs: Map<string, ValueType>;
}

/** What a card list may refer to. Scopes chain: a branch sees what its container saw, not the other way round. */
interface Scope {
  cards: Map<string, VisibleCard>;
  /** Inside a catch branch: the error being handled is visible. */
  inCatch: boolean;
}

interface FlowContext {
  flow: FlowDefinition;
  signature: Signature;
  location: string;
  nextSlot: number;
  /** Every card id of the flow, to say "exists but does not run before this card". */
  allIds: Set<string>;
  calls: { target: string; location: string }[];
}

const byIdentity = new WeakMap<object, Map<string, CompiledConnectorFlows>>();
const byHash = new Map<string, CompiledConnectorFlows>();
const HASH_CACHE_LIMIT = 256;

/**
 * Compile every flow of one connector. Throws FLOW_COMPILE_FAILED with located details; returns a frozen, cached
 * result. `flows` is the raw `flows` array of the connector definition (validated here with FlowsSchema).
 */
export function compileConnectorFlows(flows: unknown, options: CompileOptions): CompiledConnectorFlows {
  const maxCallDepth = options.maxCallDepth ?? DEFAULT_MAX_CALL_DEPTH;
  const optionsKey = `${options.file}\u0000${options.connectorKey}\u0000${maxCallDepth}`;
  const identityCache = flows !== null && typeof flows === 'object' ? byIdentity.get(flows) : undefined;
  const fromIdentity = identityCache?.get(optionsKey);
  if (fromIdentity !== undefined) return fromIdentity;

  const hash = createHash('sha256').update(optionsKey).update('\u0000').update(JSON.stringify(flows) ?? 'undefined').digest('hex');
  let compiled = byHash.get(hash);
  if (compiled === undefined) {
    compiled = compileUncached(flows, options, maxCallDepth, hash);
    if (byHash.size >= HASH_CACHE_LIMIT) byHash.delete(byHash.keys().next().value as string);
    byHash.set(hash, compiled);
  }
  if (flows !== null && typeof flows === 'object') {
    const map = identityCache ?? new Map<string, CompiledConnectorFlows>();
    map.set(optionsKey, compiled);
    if (identityCache === undefined) byIdentity.set(flows, map);
  }
  return compiled;
}

function compileUncached(raw: unknown, options: CompileOptions, maxCallDepth: number, hash: string): CompiledConnectorFlows {
  const parsed = FlowsSchema.safeParse(raw);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({
      path: `${options.file}#${locateRawPath(raw, issue.path as readonly PropertyKey[])}`,
      message: issue.message,
    }));
    throw compileError(options, details);
  }
  const definitions = parsed.data;
  const errors: ErrorDetail[] = [];
  const signatures = new Map<string, Signature>();
  const systemSeen: Partial<Record<FlowKind, string>> = {};

  for (const flow of definitions) {
    const location = `${options.file}#flows[${flow.name}]`;
    if (signatures.has(flow.name)) {
      errors.push({ path: `${location}.name`, message: `flow name '${flow.name}' is used twice; flow names are unique in a connector` });
      continue;
    }
    const signature = buildSignature(flow);
    signatures.set(flow.name, signature);
    checkSystemRules(flow, signature, location, systemSeen, errors);
  }

  const compiledFlows: Record<string, CompiledFlow> = Object.create(null) as Record<string, CompiledFlow>;
  const callGraph = new Map<string, { target: string; location: string }[]>();
  for (const flow of definitions) {
    const signature = signatures.get(flow.name);
    if (signature === undefined || compiledFlows[flow.name] !== undefined) continue;
    const ctx: FlowContext = {
      flow,
      signature,
      location: `${options.file}#flows[${flow.name}]`,
      nextSlot: 0,
      allIds: new Set(),
      calls: [],
    };
    collectIds(flow.cards, ctx, 'cards', errors);
    const scope: Scope = { cards: new Map(), inCatch: false };
    const cards = compileCardList(flow.cards, 'cards', scope, ctx, signatures, errors, { returnOutputs: signature.outputs, inBranch: false });
    if (signature.outputs.size > 0 && !flow.cards.some((card) => card.type === 'return' || card.type === 'returnError')) {
      errors.push({
        path: `${ctx.location}.cards`,
        message: `the flow declares outputs (${[...signature.outputs.keys()].join(', ')}) but has no Return card at its top level; add a Return card as the last card`,
      });
    }
    callGraph.set(flow.name, ctx.calls);
    compiledFlows[flow.name] = deepFreeze({
      kind: 'flow',
      name: flow.name,
      flowKind: flow.kind,
      description: flow.description ?? '',
      saveData: flow.saveData ?? false,
      inputs: [...signature.inputs].map(([name, input]) => ({ name, type: input.type, required: input.required })),
      outputs: [...signature.outputs].map(([name, type]) => ({ name, type })),
      cards,
      slotCount: ctx.nextSlot,
      location: ctx.location,
    } satisfies CompiledFlow);
  }

  checkCallDepth(callGraph, maxCallDepth, errors);
  if (errors.length > 0) throw compileError(options, errors);

  const flowsList = Object.values(compiledFlows);
  return deepFreeze({
    kind: 'connectorFlows',
    file: options.file,
    connectorKey: options.connectorKey,
    hash,
    flows: compiledFlows,
    authping: flowsList.find((flow) => flow.flowKind === 'authping') ?? null,
    revoke: flowsList.find((flow) => flow.flowKind === 'revoke') ?? null,
    // Textual and conservative: a reference, a template or an Object Get path naming it all contain the word.
    usesClientBasicAuth: JSON.stringify(definitions).includes('clientBasicAuth'),
  } satisfies CompiledConnectorFlows);
}

function compileError(options: CompileOptions, details: ErrorDetail[]): PlugboardError {
  const first = details[0];
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  return new PlugboardError(
    'FLOW_COMPILE_FAILED',
    `The flows of connector '${options.connectorKey}' do not compile: ${first.path}: ${first.message}${more}`,
    { details },
  );
}

function buildSignature(flow: FlowDefinition): Signature {
  const inputs = new Map<string, { type: ValueType; required: boolean }>();
  for (const [name, declaration] of Object.entries(flow.inputs ?? {})) {
    const input: FlowInputDef = typeof declaration === 'string' ? { type: declaration } : declaration;
    inputs.set(name, { type: input.type, required: input.required ?? false });
  }
  return { name: flow.name, kind: flow.kind, inputs, outputs: new Map(Object.entries(flow.outputs ?? {})) };
}

function checkSystemRules(
  flow: FlowDefinition,
  signature: Signature,
  location: string,
  seen: Partial<Record<FlowKind, string>>,
  errors: ErrorDetail[],
): void {
  const reservedKind = SYSTEM_FLOW_NAMES[flow.name];
  if (reservedKind !== undefined && flow.kind !== reservedKind) {
    errors.push({ path: `${location}.kind`, message: `the name '${flow.name}' is reserved for the ${reservedKind} system flow; set kind: ${reservedKind} or rename the flow` });
  } else if (flow.name.startsWith('_') && flow.kind !== 'authping' && flow.kind !== 'revoke') {
    errors.push({ path: `${location}.name`, message: `names starting with '_' are reserved for system flows (authping, revoke); rename this ${flow.kind} flow` });
  }
  if (flow.name === 'httpHelper' && flow.kind !== 'helper') {
    errors.push({ path: `${location}.kind`, message: `'httpHelper' is the helper convention's name; its kind must be helper` });
  }
  if (flow.kind !== 'authping' && flow.kind !== 'revoke') return;
  const previous = seen[flow.kind];
  if (previous !== undefined) {
    errors.push({ path: `${location}.kind`, message: `a connector has at most one ${flow.kind} flow; '${previous}' is already one` });
  } else {
    seen[flow.kind] = flow.name;
  }
  if (signature.inputs.size > 0) {
    errors.push({ path: `${location}.inputs`, message: `the ${flow.kind} system flow takes no inputs; remove ${[...signature.inputs.keys()].join(', ')}` });
  }
  for (const [name, type] of Object.entries(SYSTEM_FLOW_OUTPUTS[flow.kind])) {
    const declared = signature.outputs.get(name);
    if (declared === undefined) {
      errors.push({ path: `${location}.outputs`, message: `the ${flow.kind} system flow must declare output '${name}' of type ${type}` });
    } else if (declared !== type && declared !== 'any') {
      errors.push({ path: `${location}.outputs.${name}`, message: `output '${name}' of the ${flow.kind} system flow must be ${type}, not ${declared}` });
    }
  }
}

function collectIds(cards: readonly CardDef[], ctx: FlowContext, at: string, errors: ErrorDetail[]): void {
  cards.forEach((card, index) => {
    const locator = `${at}[${card.id ?? index}]`;
    if (card.id !== undefined) {
      if ((RESERVED_CARD_IDS as readonly string[]).includes(card.id)) {
        errors.push({ path: `${ctx.location}.${locator}.id`, message: `'${card.id}' is reserved (references start with input., auth. and error.); choose another card id` });
      } else if (ctx.allIds.has(card.id)) {
        errors.push({ path: `${ctx.location}.${locator}.id`, message: `card id '${card.id}' is used twice in flow '${ctx.flow.name}'; card ids are unique in a flow` });
      }
      ctx.allIds.add(card.id);
    }
    if (card.type === 'ifError') {
      collectIds(card.try, ctx, `${locator}.try`, errors);
      collectIds(card.catch ?? [], ctx, `${locator}.catch`, errors);
    }
  });
}

interface ListRules {
  /** The outputs a Return card in this list must cover: the flow's, or the enclosing If Error's. */
  returnOutputs: Map<string, ValueType>;
  inBranch: boolean;
}

/** A compiled card and the typed outputs later cards may reference. */
interface CompiledCard {
  node: CardNode;
  outputs: Map<string, ValueType>;
}

/** Where a card is compiled: its node base, its path for errors, the scope it sees and the flow being compiled. */
interface CardSite {
  base: { slot: number; id: string | null; locator: string };
  where: string;
  scope: Scope;
  ctx: FlowContext;
  signatures: Map<string, Signature>;
  errors: ErrorDetail[];
}

function compileCardList(
  cards: readonly CardDef[],
  at: string,
  scope: Scope,
  ctx: FlowContext,
  signatures: Map<string, Signature>,
  errors: ErrorDetail[],
  rules: ListRules,
): CardNode[] {
  const nodes: CardNode[] = [];
  let ended: string | null = null;
  cards.forEach((card, index) => {
    const locator = `${at}[${card.id ?? index}]`;
    if (ended !== null) {
      errors.push({ path: `${ctx.location}.${locator}`, message: `this card can never run: it follows the ${ended} card; remove it or move it before` });
    }
    const compiled = compileCard(card, locator, scope, ctx, signatures, errors, rules);
    nodes.push(compiled.node);
    if (card.id !== undefined && !scope.cards.has(card.id) && !(RESERVED_CARD_IDS as readonly string[]).includes(card.id)) {
      scope.cards.set(card.id, { slot: compiled.node.slot, outputs: compiled.outputs });
    }
    if (card.type === 'return' || card.type === 'returnError') ended = card.type === 'return' ? 'Return' : 'Return Error';
  });
  return nodes;
}

function compileCard(
  card: CardDef,
  locator: string,
  scope: Scope,
  ctx: FlowContext,
  signatures: Map<string, Signature>,
  errors: ErrorDetail[],
  rules: ListRules,
): CompiledCard {
  const slot = ctx.nextSlot++;
  const base = { slot, id: card.id ?? null, locator };
  const where = `${ctx.location}.${locator}`;
  const value = (raw: FlowValue | undefined, field: string, expected: ValueType = 'any'): ValueNode => {
    const typed = compileValue(raw ?? null, `${where}.${field}`, scope, ctx, errors);
    expectType(typed.type, expected, `${where}.${field}`, errors);
    return typed.node;
  };
  const optionalValue = (raw: FlowValue | undefined, field: string, expected: ValueType = 'any'): ValueNode | null =>
    raw === undefined ? null : value(raw, field, expected);
  const entries = (values: Record<string, FlowValue> | undefined, field: string): { entries: Entries; types: Map<string, ValueType> } => {
    const types = new Map<string, ValueType>();
    const list = Object.entries(values ?? {}).map(([name, raw]) => {
      const typed = compileValue(raw, `${where}.${field}.${name}`, scope, ctx, errors);
      types.set(name, typed.type);
      return [name, typed.node] as const;
    });
    return { entries: list, types };
  };
  const single = (name: string, type: ValueType) => new Map([[name, type]]);

  switch (card.type) {
    case 'http':
      return {
        node: {
          ...base,
          kind: 'http',
          url: value(card.url, 'url', 'text'),
          method: value(card.method, 'method', 'text'),
          headers: optionalValue(card.headers, 'headers', 'object'),
          query: optionalValue(card.query, 'query', 'object'),
          body: optionalValue(card.body, 'body'),
          bodyType: card.bodyType ?? null,
          timeoutMs: card.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS,
          failOnHttpError: card.failOnHttpError ?? false,
          retry: {
            on429: card.retry?.on429 ?? card.retry !== undefined,
            maxAttempts: card.retry?.maxAttempts ?? 3,
            maxWaitMs: card.retry?.maxWaitMs ?? 10_000,
          },
        },
        outputs: new Map<string, ValueType>([['statusCode', 'number'], ['headers', 'object'], ['body', 'any']]),
      };
    case 'callFlow':
      return compileCallFlow(card, { base, where, scope, ctx, signatures, errors });
    case 'ifError':
      return compileIfError(card, { base, where, scope, ctx, signatures, errors });
    case 'assign': {
      const { entries: values, types } = entries(card.values, 'values');
      return { node: { ...base, kind: 'assign', values }, outputs: types };
    }
    case 'assignIf': {
      const ifTrue = compileValue(card.ifTrue, `${where}.ifTrue`, scope, ctx, errors);
      const ifFalse = compileValue(card.ifFalse, `${where}.ifFalse`, scope, ctx, errors);
      let type: ValueType;
      if (card.outputType !== undefined) {
        type = card.outputType;
        expectType(ifTrue.type, type, `${where}.ifTrue`, errors);
        expectType(ifFalse.type, type, `${where}.ifFalse`, errors);
      } else {
        type = unify(ifTrue.type, ifFalse.type);
      }
      const output = card.output ?? CARD_OUTPUT_DEFAULTS.assignIf;
      return {
        node: {
          ...base,
          kind: 'assignIf',
          a: value(card.a, 'a'),
          comparison: card.comparison,
          b: comparisonOperand(card.comparison, card.b, `${where}.b`, scope, ctx, errors),
          ifTrue: ifTrue.node,
          ifFalse: ifFalse.node,
          output,
        },
        outputs: single(output, type),
      };
    }
    case 'continueIf':
      return {
        node: {
          ...base,
          kind: 'continueIf',
          a: value(card.a, 'a'),
          comparison: card.comparison,
          b: comparisonOperand(card.comparison, card.b, `${where}.b`, scope, ctx, errors),
          message: optionalValue(card.message, 'message'),
        },
        outputs: new Map(),
      };
    case 'objectConstruct': {
      const output = card.output ?? CARD_OUTPUT_DEFAULTS.objectConstruct;
      return { node: { ...base, kind: 'objectConstruct', base: optionalValue(card.base, 'base', 'object'), values: entries(card.values, 'values').entries, output }, outputs: single(output, 'object') };
    }
    case 'objectGet': {
      const output = card.output ?? CARD_OUTPUT_DEFAULTS.objectGet;
      return {
        node: {
          ...base,
          kind: 'objectGet',
          object: value(card.object, 'object'),
          path: card.path === '' ? [] : card.path.split('.'),
          default: optionalValue(card.default, 'default'),
          output,
        },
        outputs: single(output, 'any'),
      };
    }
    case 'textCompose': {
      const output = card.output ?? CARD_OUTPUT_DEFAULTS.textCompose;
      const template = compileTemplate(card.template, `${where}.template`, scope, ctx, errors);
      return { node: { ...base, kind: 'textCompose', template, output }, outputs: single(output, 'text') };
    }
    case 'jsonParse': {
      const output = card.output ?? CARD_OUTPUT_DEFAULTS.jsonParse;
      return { node: { ...base, kind: 'jsonParse', text: value(card.text, 'text', 'text'), output }, outputs: single(output, 'any') };
    }
    case 'jsonStringify': {
      const output = card.output ?? CARD_OUTPUT_DEFAULTS.jsonStringify;
      return { node: { ...base, kind: 'jsonStringify', value: value(card.value, 'value'), output }, outputs: single(output, 'text') };
    }
    case 'return': {
      const { entries: values, types } = entries(card.values, 'values');
      const what = rules.inBranch ? 'the enclosing If Error' : `flow '${ctx.flow.name}'`;
      for (const [name, type] of rules.returnOutputs) {
        const given = types.get(name);
        if (given === undefined) {
          errors.push({ path: `${where}.values`, message: `the Return misses output '${name}' (${type}) declared by ${what}` });
        } else {
          expectType(given, type, `${where}.values.${name}`, errors);
        }
      }
      for (const name of types.keys()) {
        if (!rules.returnOutputs.has(name)) {
          errors.push({
            path: `${where}.values.${name}`,
            message: `'${name}' is not an output of ${what}${didYouMean(name, rules.returnOutputs.keys())}; declare it in outputs or remove it`,
          });
        }
      }
      return { node: { ...base, kind: 'return', values }, outputs: new Map() };
    }
    case 'returnError':
      return {
        node: {
          ...base,
          kind: 'returnError',
          message: value(card.message, 'message'),
          code: card.code ?? null,
          statusCode: optionalValue(card.statusCode, 'statusCode', 'number'),
        },
        outputs: new Map(),
      };
  }
}

function comparisonOperand(
  comparison: string,
  raw: FlowValue | undefined,
  where: string,
  scope: Scope,
  ctx: FlowContext,
  errors: ErrorDetail[],
): ValueNode {
  if (raw === undefined) {
    errors.push({ path: where, message: `the comparison '${comparison}' needs a value b` });
    return { kind: 'literal', value: null };
  }
  const typed = compileValue(raw, where, scope, ctx, errors);
  if ((comparison === 'in' || comparison === 'notIn') && typed.type !== 'list' && typed.type !== 'any') {
    errors.push({ path: where, message: `'${comparison}' compares against a list; value b is ${typed.type}` });
  }
  return typed.node;
}

function compileCallFlow(card: Extract<CardDef, { type: 'callFlow' }>, site: CardSite): CompiledCard {
  const { base, where, scope, ctx, signatures, errors } = site;
  const target = signatures.get(card.flow);
  const inputs: [string, ValueNode][] = [];
  let outputs = new Map<string, ValueType>(Object.entries(card.outputs ?? {}));
  if (target === undefined) {
    errors.push({ path: `${where}.flow`, message: `no flow named '${card.flow}' in this connector${didYouMean(card.flow, signatures.keys())}` });
  } else if (target.kind !== 'helper') {
    errors.push({ path: `${where}.flow`, message: `Call Flow can only call helper flows; '${card.flow}' is of kind ${target.kind}` });
  } else {
    ctx.calls.push({ target: card.flow, location: `${where}.flow` });
  }
  for (const [name, raw] of Object.entries(card.inputs ?? {})) {
    const typed = compileValue(raw, `${where}.inputs.${name}`, scope, ctx, errors);
    inputs.push([name, typed.node]);
    if (target === undefined) continue;
    const declared = target.inputs.get(name);
    if (declared === undefined) {
      errors.push({ path: `${where}.inputs.${name}`, message: `helper '${card.flow}' has no input '${name}'${didYouMean(name, target.inputs.keys())}` });
    } else {
      expectType(typed.type, declared.type, `${where}.inputs.${name}`, errors);
    }
  }
  if (target !== undefined) {
    for (const [name, declared] of target.inputs) {
      if (declared.required && !(name in (card.inputs ?? {}))) {
        errors.push({ path: `${where}.inputs`, message: `missing required input '${name}' (${declared.type}) of helper '${card.flow}'` });
      }
    }
    if (card.outputs === undefined) {
      outputs = new Map(target.outputs);
    } else {
      for (const [name, type] of target.outputs) {
        const declared = outputs.get(name);
        if (declared === undefined) {
          errors.push({ path: `${where}.outputs`, message: `the outputs must match helper '${card.flow}': missing '${name}' (${type})` });
        } else if (declared !== type) {
          errors.push({ path: `${where}.outputs.${name}`, message: `the outputs must match helper '${card.flow}': '${name}' is ${type} there, not ${declared}` });
        }
      }
      for (const name of outputs.keys()) {
        if (!target.outputs.has(name)) {
          errors.push({
            path: `${where}.outputs.${name}`,
            message: `helper '${card.flow}' has no output '${name}'${didYouMean(name, target.outputs.keys())}; the outputs must match the helper's`,
          });
        }
      }
    }
  }
  return { node: { ...base, kind: 'callFlow', flow: card.flow, inputs, outputs: [...outputs.keys()] }, outputs };
}

function compileIfError(card: Extract<CardDef, { type: 'ifError' }>, site: CardSite): CompiledCard {
  const { base, where, scope, ctx, signatures, errors } = site;
  const tryScope: Scope = { cards: new Map(scope.cards), inCatch: scope.inCatch };
  const catchScope: Scope = { cards: new Map(scope.cards), inCatch: true };
  // A Return inside a branch ends the If Error; its values must be typed like the declared outputs. The types come
  // from the mappings (both branches must agree), so compute them before compiling the branches' Return cards.
  const declaredOutputs = Object.entries(card.outputs ?? {});
  const branchOutputs = new Map<string, ValueType>(declaredOutputs.map(([name]) => [name, 'any']));
  const tryNodes = compileCardList(card.try, `${base.locator}.try`, tryScope, ctx, signatures, errors, { returnOutputs: branchOutputs, inBranch: true });
  const catchNodes = compileCardList(card.catch ?? [], `${base.locator}.catch`, catchScope, ctx, signatures, errors, {
    returnOutputs: branchOutputs,
    inBranch: true,
  });
  const outputTypes = new Map<string, ValueType>();
  const outputs: IfErrorCardNode['outputs'][number][] = declaredOutputs.map(([name, mapping]) => {
    const fromTry = mapping.try === undefined ? null : compileValue(mapping.try, `${where}.outputs.${name}.try`, tryScope, ctx, errors);
    const fromCatch = mapping.catch === undefined ? null : compileValue(mapping.catch, `${where}.outputs.${name}.catch`, catchScope, ctx, errors);
    let type: ValueType = 'any';
    if (fromTry !== null && fromCatch !== null) {
      type = unify(fromTry.type, fromCatch.type);
      if (!compatible(fromTry.type, fromCatch.type)) {
        errors.push({ path: `${where}.outputs.${name}`, message: `type mismatch: the try value is ${fromTry.type} but the catch value is ${fromCatch.type}` });
      }
    } else if (fromTry !== null) {
      type = fromTry.type;
    } else if (fromCatch !== null) {
      type = fromCatch.type;
    }
    outputTypes.set(name, type);
    return [name, fromTry?.node ?? null, fromCatch?.node ?? null] as const;
  });
  return { node: { ...base, kind: 'ifError', try: tryNodes, catch: catchNodes, outputs }, outputs: outputTypes };
}

interface TypedValue {
  node: ValueNode;
  type: ValueType;
}

function compileValue(raw: FlowValue, where: string, scope: Scope, ctx: FlowContext, errors: ErrorDetail[]): TypedValue {
  if (raw === null) return { node: { kind: 'literal', value: null }, type: 'any' };
  if (typeof raw === 'string') return { node: { kind: 'literal', value: raw }, type: 'text' };
  if (typeof raw === 'number') return { node: { kind: 'literal', value: raw }, type: 'number' };
  if (typeof raw === 'boolean') return { node: { kind: 'literal', value: raw }, type: 'boolean' };
  if (Array.isArray(raw)) {
    const items = raw.map((item, index) => compileValue(item, `${where}[${index}]`, scope, ctx, errors));
    return { node: foldList(items.map((item) => item.node)), type: 'list' };
  }
  const keys = Object.keys(raw);
  if (keys.includes('$ref') || keys.includes('$template')) {
    const key = keys.includes('$ref') ? '$ref' : '$template';
    const text = raw[key];
    if (keys.length !== 1 || typeof text !== 'string') {
      errors.push({ path: where, message: `a ${key} value is an object with exactly one key, ${key}, whose value is a string` });
      return { node: { kind: 'literal', value: null }, type: 'any' };
    }
    return key === '$ref' ? compileRef(text, where, scope, ctx, errors) : { node: compileTemplate(text, where, scope, ctx, errors), type: 'text' };
  }
  const entries = keys.map((key) => [key, compileValue(raw[key], `${where}.${key}`, scope, ctx, errors).node] as const);
  return { node: foldObject(entries), type: 'object' };
}

/** A list whose items are all literal becomes one frozen literal, so the interpreter copies nothing for constants. */
function foldList(items: ValueNode[]): ValueNode {
  if (items.every((item) => item.kind === 'literal')) {
    return { kind: 'literal', value: deepFreeze(items.map((item) => (item as { value: unknown }).value)) };
  }
  return { kind: 'list', items };
}

function foldObject(entries: (readonly [string, ValueNode])[]): ValueNode {
  if (entries.every(([, node]) => node.kind === 'literal')) {
    const value: Record<string, unknown> = {};
    for (const [key, node] of entries) value[key] = (node as { value: unknown }).value;
    return { kind: 'literal', value: deepFreeze(value) };
  }
  return { kind: 'object', entries };
}

function compileRef(text: string, where: string, scope: Scope, ctx: FlowContext, errors: ErrorDetail[]): TypedValue {
  const fail = (message: string): TypedValue => {
    errors.push({ path: where, message });
    return { node: { kind: 'literal', value: null }, type: 'any' };
  };
  const segments = text.trim().split('.');
  if (segments.some((segment) => segment === '')) return fail(`'${text}' is not a reference; write root.name.path, e.g. call.status_code`);
  const [root, ...rest] = segments;
  if (root === 'input') {
    if (rest.length === 0) return fail(`'input' alone is not a value; name the input, e.g. input.${[...ctx.signature.inputs.keys()][0] ?? 'name'}`);
    const [name, ...path] = rest;
    const declared = ctx.signature.inputs.get(name);
    if (declared === undefined) {
      return fail(`flow '${ctx.flow.name}' has no input '${name}'${didYouMean(name, ctx.signature.inputs.keys())}; declare it under inputs`);
    }
    return { node: { kind: 'input', name, path }, type: pathType(declared.type, path, where, text, errors) };
  }
  if (root === 'auth') {
    if (rest.length === 0) return { node: { kind: 'auth', path: [] }, type: 'object' };
    const type = AUTH_FIELDS[rest[0]];
    if (type === undefined) return fail(`the auth object has no field '${rest[0]}'${didYouMean(rest[0], Object.keys(AUTH_FIELDS))}`);
    return { node: { kind: 'auth', path: rest }, type: pathType(type, rest.slice(1), where, text, errors) };
  }
  if (root === 'error') {
    if (!scope.inCatch) return fail(`'error' is only available inside an If Error catch branch`);
    if (rest.length === 0) return { node: { kind: 'error', path: [] }, type: 'object' };
    const type = ERROR_FIELDS[rest[0]];
    if (type === undefined) return fail(`the error object has no field '${rest[0]}'${didYouMean(rest[0], Object.keys(ERROR_FIELDS))}`);
    return { node: { kind: 'error', path: rest }, type: pathType(type, rest.slice(1), where, text, errors) };
  }
  const card = scope.cards.get(root);
  if (card === undefined) {
    if (ctx.allIds.has(root)) {
      return fail(`card '${root}' does not run before this point on every path (it is later, or inside another branch); refer to an earlier card or to an If Error output`);
    }
    return fail(`unknown reference '${text}': no input, auth, error or earlier card named '${root}'${didYouMean(root, [...scope.cards.keys(), 'input', 'auth'])}`);
  }
  if (rest.length === 0) return { node: { kind: 'card', slot: card.slot, name: null, path: [] }, type: 'object' };
  const [name, ...path] = rest;
  const type = card.outputs.get(name);
  if (type === undefined) {
    const known = [...card.outputs.keys()];
    return fail(`card '${root}' has no output '${name}'${didYouMean(name, known)}${known.length > 0 ? ` (outputs: ${known.join(', ')})` : ' (it has no outputs)'}`);
  }
  return { node: { kind: 'card', slot: card.slot, name, path }, type: pathType(type, path, where, text, errors) };
}

function pathType(type: ValueType, path: readonly string[], where: string, text: string, errors: ErrorDetail[]): ValueType {
  if (path.length === 0) return type;
  if (type === 'text' || type === 'number' || type === 'boolean') {
    errors.push({ path: where, message: `'${text}' reads a path inside a ${type} value; only objects and lists have paths` });
  }
  return 'any';
}

const TEMPLATE_PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

function compileTemplate(template: string, where: string, scope: Scope, ctx: FlowContext, errors: ErrorDetail[]): ValueNode {
  const parts: (string | ValueNode)[] = [];
  let last = 0;
  for (const match of template.matchAll(TEMPLATE_PLACEHOLDER)) {
    if (match.index > last) parts.push(template.slice(last, match.index));
    parts.push(compileRef(match[1], where, scope, ctx, errors).node);
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  const rest = template.replace(TEMPLATE_PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) {
    errors.push({ path: where, message: `unbalanced '{{' or '}}' in template; placeholders look like {{ card.output }}` });
  }
  if (parts.every((part) => typeof part === 'string')) return { kind: 'literal', value: parts.join('') };
  return { kind: 'template', parts };
}

function compatible(actual: ValueType, expected: ValueType): boolean {
  return actual === expected || actual === 'any' || expected === 'any';
}

function unify(a: ValueType, b: ValueType): ValueType {
  return a === b ? a : 'any';
}

function expectType(actual: ValueType, expected: ValueType, where: string, errors: ErrorDetail[]): void {
  if (!compatible(actual, expected)) errors.push({ path: where, message: `type mismatch: expected ${expected}, got ${actual}` });
}

/** Call Flow chains: no cycles, and no chain longer than the call depth limit. */
function checkCallDepth(graph: Map<string, { target: string; location: string }[]>, maxCallDepth: number, errors: ErrorDetail[]): void {
  const depth = new Map<string, number>();
  const reported = new Set<string>();
  const visit = (flow: string, stack: string[]): number => {
    const known = depth.get(flow);
    if (known !== undefined) return known;
    let deepest = 0;
    for (const call of graph.get(flow) ?? []) {
      if (stack.includes(call.target)) {
        if (!reported.has(call.location)) {
          reported.add(call.location);
          const cycle = [...stack.slice(stack.indexOf(call.target)), call.target].join(' -> ');
          errors.push({ path: call.location, message: `recursion: ${cycle}; a flow may not call itself, directly or through helpers` });
        }
        continue;
      }
      const below = visit(call.target, [...stack, call.target]) + 1;
      if (below > maxCallDepth && !reported.has(call.location)) {
        reported.add(call.location);
        errors.push({ path: call.location, message: `the Call Flow chain from '${flow}' is ${below} calls deep, more than the limit of ${maxCallDepth}` });
      }
      deepest = Math.max(deepest, below);
    }
    depth.set(flow, deepest);
    return deepest;
  };
  for (const flow of graph.keys()) visit(flow, [flow]);
}

/** Render a Zod issue path against the raw input: flows and cards by name or id, other indexes in brackets. */
function locateRawPath(raw: unknown, path: readonly PropertyKey[]): string {
  let out = 'flows';
  let node: unknown = raw;
  let parentKey: PropertyKey | undefined;
  for (const key of path) {
    const next = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof key === 'number') {
      const named = next !== null && typeof next === 'object' ? (next as { name?: unknown; id?: unknown }) : undefined;
      const label = parentKey === undefined && typeof named?.name === 'string' ? named.name
        : (parentKey === 'cards' || parentKey === 'try' || parentKey === 'catch') && typeof named?.id === 'string' ? named.id
        : String(key);
      out += `[${label}]`;
    } else {
      out += `.${String(key)}`;
    }
    parentKey = key;
    node = next;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

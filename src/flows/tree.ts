/**
 * The compiled flow tree: immutable nodes with a `kind` discriminant, produced once by the compiler and walked by the
 * interpreter (the model is a query tree: validated up front, frozen, never changed while running). Every reference is
 * already resolved to where its value lives at run time (a flow input, the auth object, a card's output slot, the
 * error being handled), so the interpreter does no name lookups and no validation.
 */
import type { Comparison, FlowKind, ValueType } from './schema.ts';

/** Where a value comes from at run time; `path` walks into the value (missing path gives null). */
export type ValueNode =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'input'; readonly name: string; readonly path: readonly string[] }
  | { readonly kind: 'auth'; readonly path: readonly string[] }
  | { readonly kind: 'card'; readonly slot: number; readonly name: string | null; readonly path: readonly string[] }
  | { readonly kind: 'error'; readonly path: readonly string[] }
  | { readonly kind: 'template'; readonly parts: readonly (string | ValueNode)[] }
  | { readonly kind: 'list'; readonly items: readonly ValueNode[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, ValueNode])[] };

export type Entries = readonly (readonly [string, ValueNode])[];

interface CardNodeBase {
  /** Index of this card's output slot in its flow's frame. */
  readonly slot: number;
  readonly id: string | null;
  /** Position inside the flow, as shown in errors and history: `cards[attempt].try[call]`. */
  readonly locator: string;
}

export interface RetryNode {
  readonly on429: boolean;
  readonly maxAttempts: number;
  readonly maxWaitMs: number;
}

export interface HttpCardNode extends CardNodeBase {
  readonly kind: 'http';
  readonly url: ValueNode;
  readonly method: ValueNode;
  readonly headers: ValueNode | null;
  readonly query: ValueNode | null;
  readonly body: ValueNode | null;
  readonly bodyType: 'json' | 'form' | 'text' | null;
  readonly timeoutMs: number;
  readonly failOnHttpError: boolean;
  readonly retry: RetryNode;
}

export interface CallFlowCardNode extends CardNodeBase {
  readonly kind: 'callFlow';
  readonly flow: string;
  readonly inputs: Entries;
  readonly outputs: readonly string[];
}

export interface IfErrorCardNode extends CardNodeBase {
  readonly kind: 'ifError';
  readonly try: readonly CardNode[];
  readonly catch: readonly CardNode[];
  readonly outputs: readonly (readonly [name: string, fromTry: ValueNode | null, fromCatch: ValueNode | null])[];
}

export interface AssignCardNode extends CardNodeBase {
  readonly kind: 'assign';
  readonly values: Entries;
}

export interface AssignIfCardNode extends CardNodeBase {
  readonly kind: 'assignIf';
  readonly a: ValueNode;
  readonly comparison: Comparison;
  readonly b: ValueNode;
  readonly ifTrue: ValueNode;
  readonly ifFalse: ValueNode;
  readonly output: string;
}

export interface ContinueIfCardNode extends CardNodeBase {
  readonly kind: 'continueIf';
  readonly a: ValueNode;
  readonly comparison: Comparison;
  readonly b: ValueNode;
  readonly message: ValueNode | null;
}

export interface ObjectConstructCardNode extends CardNodeBase {
  readonly kind: 'objectConstruct';
  readonly base: ValueNode | null;
  readonly values: Entries;
  readonly output: string;
}

export interface ObjectGetCardNode extends CardNodeBase {
  readonly kind: 'objectGet';
  readonly object: ValueNode;
  readonly path: readonly string[];
  readonly default: ValueNode | null;
  readonly output: string;
}

export interface TextComposeCardNode extends CardNodeBase {
  readonly kind: 'textCompose';
  readonly template: ValueNode;
  readonly output: string;
}

export interface JsonParseCardNode extends CardNodeBase {
  readonly kind: 'jsonParse';
  readonly text: ValueNode;
  readonly output: string;
}

export interface JsonStringifyCardNode extends CardNodeBase {
  readonly kind: 'jsonStringify';
  readonly value: ValueNode;
  readonly output: string;
}

export interface ReturnCardNode extends CardNodeBase {
  readonly kind: 'return';
  readonly values: Entries;
}

export interface ReturnErrorCardNode extends CardNodeBase {
  readonly kind: 'returnError';
  readonly message: ValueNode;
  readonly code: string | null;
  readonly statusCode: ValueNode | null;
}

export type CardNode =
  | HttpCardNode
  | CallFlowCardNode
  | IfErrorCardNode
  | AssignCardNode
  | AssignIfCardNode
  | ContinueIfCardNode
  | ObjectConstructCardNode
  | ObjectGetCardNode
  | TextComposeCardNode
  | JsonParseCardNode
  | JsonStringifyCardNode
  | ReturnCardNode
  | ReturnErrorCardNode;

export interface CompiledFlow {
  readonly kind: 'flow';
  readonly name: string;
  readonly flowKind: FlowKind;
  readonly description: string;
  readonly saveData: boolean;
  readonly inputs: readonly { readonly name: string; readonly type: ValueType; readonly required: boolean }[];
  readonly outputs: readonly { readonly name: string; readonly type: ValueType }[];
  readonly cards: readonly CardNode[];
  /** How many card output slots a frame of this flow needs. */
  readonly slotCount: number;
  /** `connectors/box.yaml#flows[_revoke]`: the prefix of every location inside this flow. */
  readonly location: string;
}

export interface CompiledConnectorFlows {
  readonly kind: 'connectorFlows';
  readonly file: string;
  readonly connectorKey: string;
  /** sha256 of the flow definitions, file and connector key: the cache key. */
  readonly hash: string;
  readonly flows: Readonly<Record<string, CompiledFlow>>;
  readonly authping: CompiledFlow | null;
  readonly revoke: CompiledFlow | null;
  /** Whether any flow mentions `clientBasicAuth`: the interpreter derives that auth field only then. */
  readonly usesClientBasicAuth: boolean;
}

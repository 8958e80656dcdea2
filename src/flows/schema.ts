/**
 * Zod schemas for connector flows and their cards (the format described in `docs/flows.md`). They check the shape of
 * each flow as written in a connector file: card types, required fields, misspelled field names (objects are strict).
 * Everything that needs the whole connector (references, types, Call Flow signatures, system flow rules) is checked by
 * the compiler. The schemas have no defaults, so the parsed value is exactly what was written, and importing this
 * module has no side effects: the connector definition schema embeds `FlowsSchema` as is.
 */
import { z } from 'zod';
import { didYouMean } from './suggest.ts';

/** The value types a flow input, output or card output may declare. */
export const VALUE_TYPES = ['text', 'number', 'boolean', 'object', 'list', 'any'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export const FLOW_KINDS = ['action', 'helper', 'authping', 'revoke'] as const;
export type FlowKind = (typeof FLOW_KINDS)[number];

export const COMPARISONS = ['equal', 'notEqual', 'greater', 'less', 'atLeast', 'atMost', 'in', 'notIn', 'hasKey', 'contains'] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const CARD_TYPES = [
  'http', 'callFlow', 'ifError', 'assign', 'assignIf', 'continueIf', 'objectConstruct', 'objectGet', 'textCompose',
  'jsonParse', 'jsonStringify', 'return', 'returnError',
] as const;
export type CardType = (typeof CARD_TYPES)[number];

/**
 * A value as written: a JSON literal, `{ $ref: "card.output.path" }` or `{ $template: "text {{ ref }}" }`, nested
 * freely inside lists and objects. The compiler tells references from literals.
 */
export type FlowValue = null | string | number | boolean | FlowValue[] | { [key: string]: FlowValue };

export const FlowValueSchema: z.ZodType<FlowValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(FlowValueSchema), z.record(z.string(), FlowValueSchema)]),
);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const identifier = (what: string) =>
  z.string().regex(IDENTIFIER, `${what} must start with a letter or '_' and contain only letters, digits and '_'`);

export const ValueTypeSchema = z.enum(VALUE_TYPES, {
  error: (issue) => `unknown type ${JSON.stringify(issue.input)}; expected one of ${VALUE_TYPES.join(', ')}`,
});
export const ComparisonSchema = z.enum(COMPARISONS, {
  error: (issue) =>
    `unknown comparison ${JSON.stringify(issue.input)}${typeof issue.input === 'string' ? didYouMean(issue.input, COMPARISONS) : ''}; expected one of ${COMPARISONS.join(', ')}`,
});

const cardBase = {
  /** Lets later cards refer to this card's outputs; unique in the flow. */
  id: identifier('a card id').optional(),
  description: z.string().optional(),
};

export interface RetryPolicy {
  on429?: boolean;
  maxAttempts?: number;
  maxWaitMs?: number;
}

export const RetrySchema = z.strictObject({
  on429: z.boolean().optional(),
  maxAttempts: z.number().int().min(1).max(10).optional(),
  maxWaitMs: z.number().int().min(0).max(600_000).optional(),
});

export interface HttpCardDef {
  id?: string;
  description?: string;
  type: 'http';
  url: FlowValue;
  method: FlowValue;
  headers?: FlowValue;
  query?: FlowValue;
  body?: FlowValue;
  bodyType?: 'json' | 'form' | 'text';
  timeoutMs?: number;
  failOnHttpError?: boolean;
  retry?: RetryPolicy;
}
export interface CallFlowCardDef {
  id?: string;
  description?: string;
  type: 'callFlow';
  flow: string;
  inputs?: Record<string, FlowValue>;
  outputs?: Record<string, ValueType>;
}
export interface IfErrorCardDef {
  id?: string;
  description?: string;
  type: 'ifError';
  try: CardDef[];
  catch?: CardDef[];
  outputs?: Record<string, { try?: FlowValue; catch?: FlowValue }>;
}
export interface AssignCardDef {
  id?: string;
  description?: string;
  type: 'assign';
  values: Record<string, FlowValue>;
}
export interface AssignIfCardDef {
  id?: string;
  description?: string;
  type: 'assignIf';
  a: FlowValue;
  comparison: Comparison;
  b?: FlowValue;
  ifTrue: FlowValue;
  ifFalse: FlowValue;
  output?: string;
  outputType?: ValueType;
}
export interface ContinueIfCardDef {
  id?: string;
  description?: string;
  type: 'continueIf';
  a: FlowValue;
  comparison: Comparison;
  b?: FlowValue;
  message?: FlowValue;
}
export interface ObjectConstructCardDef {
  id?: string;
  description?: string;
  type: 'objectConstruct';
  /** An object whose keys are copied first; `values` then add to or override them (how httpHelper adds credentials). */
  base?: FlowValue;
  values: Record<string, FlowValue>;
  output?: string;
}
export interface ObjectGetCardDef {
  id?: string;
  description?: string;
  type: 'objectGet';
  object: FlowValue;
  path: string;
  default?: FlowValue;
  output?: string;
}
export interface TextComposeCardDef {
  id?: string;
  description?: string;
  type: 'textCompose';
  template: string;
  output?: string;
}
export interface JsonParseCardDef {
  id?: string;
  description?: string;
  type: 'jsonParse';
  text: FlowValue;
  output?: string;
}
export interface JsonStringifyCardDef {
  id?: string;
  description?: string;
  type: 'jsonStringify';
  value: FlowValue;
  output?: string;
}
export interface ReturnCardDef {
  id?: string;
  description?: string;
  type: 'return';
  values?: Record<string, FlowValue>;
}
export interface ReturnErrorCardDef {
  id?: string;
  description?: string;
  type: 'returnError';
  message: FlowValue;
  code?: string;
  statusCode?: FlowValue;
}

export type CardDef =
  | HttpCardDef
  | CallFlowCardDef
  | IfErrorCardDef
  | AssignCardDef
  | AssignIfCardDef
  | ContinueIfCardDef
  | ObjectConstructCardDef
  | ObjectGetCardDef
  | TextComposeCardDef
  | JsonParseCardDef
  | JsonStringifyCardDef
  | ReturnCardDef
  | ReturnErrorCardDef;

const valueMap = z.record(identifier('a name'), FlowValueSchema);
const outputName = identifier('an output name').optional();

export const HttpCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('http'),
  url: FlowValueSchema,
  method: FlowValueSchema,
  headers: FlowValueSchema.optional(),
  query: FlowValueSchema.optional(),
  body: FlowValueSchema.optional(),
  bodyType: z.enum(['json', 'form', 'text']).optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  failOnHttpError: z.boolean().optional(),
  retry: RetrySchema.optional(),
});

export const CallFlowCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('callFlow'),
  flow: identifier('a flow name'),
  inputs: valueMap.optional(),
  outputs: z.record(identifier('an output name'), ValueTypeSchema).optional(),
});

export const IfErrorCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('ifError'),
  try: z.lazy(() => z.array(CardSchema)),
  catch: z.lazy(() => z.array(CardSchema)).optional(),
  outputs: z
    .record(identifier('an output name'), z.strictObject({ try: FlowValueSchema.optional(), catch: FlowValueSchema.optional() }))
    .optional(),
});

export const AssignCardSchema = z.strictObject({ ...cardBase, type: z.literal('assign'), values: valueMap });

export const AssignIfCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('assignIf'),
  a: FlowValueSchema,
  comparison: ComparisonSchema,
  b: FlowValueSchema.optional(),
  ifTrue: FlowValueSchema,
  ifFalse: FlowValueSchema,
  output: outputName,
  outputType: ValueTypeSchema.optional(),
});

export const ContinueIfCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('continueIf'),
  a: FlowValueSchema,
  comparison: ComparisonSchema,
  b: FlowValueSchema.optional(),
  message: FlowValueSchema.optional(),
});

export const ObjectConstructCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('objectConstruct'),
  base: FlowValueSchema.optional(),
  values: z.record(z.string(), FlowValueSchema),
  output: outputName,
});

export const ObjectGetCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('objectGet'),
  object: FlowValueSchema,
  path: z.string(),
  default: FlowValueSchema.optional(),
  output: outputName,
});

export const TextComposeCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('textCompose'),
  template: z.string(),
  output: outputName,
});

export const JsonParseCardSchema = z.strictObject({ ...cardBase, type: z.literal('jsonParse'), text: FlowValueSchema, output: outputName });

export const JsonStringifyCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('jsonStringify'),
  value: FlowValueSchema,
  output: outputName,
});

export const ReturnCardSchema = z.strictObject({ ...cardBase, type: z.literal('return'), values: valueMap.optional() });

export const ReturnErrorCardSchema = z.strictObject({
  ...cardBase,
  type: z.literal('returnError'),
  message: FlowValueSchema,
  code: z.string().max(100).optional(),
  statusCode: FlowValueSchema.optional(),
});

export const CardSchema: z.ZodType<CardDef> = z.lazy(() =>
  z.discriminatedUnion(
    'type',
    [
      HttpCardSchema, CallFlowCardSchema, IfErrorCardSchema, AssignCardSchema, AssignIfCardSchema, ContinueIfCardSchema,
      ObjectConstructCardSchema, ObjectGetCardSchema, TextComposeCardSchema, JsonParseCardSchema, JsonStringifyCardSchema,
      ReturnCardSchema, ReturnErrorCardSchema,
    ],
    {
      error: (issue) => {
        if (issue.code !== 'invalid_union') return undefined;
        const input = issue.input as { type?: unknown } | undefined;
        const type = input !== null && typeof input === 'object' ? input.type : undefined;
        if (typeof type !== 'string') return `a card needs a 'type', one of ${CARD_TYPES.join(', ')}`;
        return `unknown card type '${type}'${didYouMean(type, CARD_TYPES)}; expected one of ${CARD_TYPES.join(', ')}`;
      },
    },
  ),
);

export interface FlowInputDef {
  type: ValueType;
  required?: boolean;
  description?: string;
}

export const FlowInputSchema = z.strictObject({
  type: ValueTypeSchema,
  required: z.boolean().optional(),
  description: z.string().optional(),
});

export interface FlowDefinition {
  name: string;
  kind: FlowKind;
  description?: string;
  saveData?: boolean;
  /** name -> declaration; a bare type (`relative_url: text`) is shorthand for `{ type }` (optional input). */
  inputs?: Record<string, FlowInputDef | ValueType>;
  outputs?: Record<string, ValueType>;
  cards: CardDef[];
}

export const FlowDefinitionSchema: z.ZodType<FlowDefinition> = z.strictObject({
  name: identifier('a flow name'),
  kind: z.enum(FLOW_KINDS, {
    error: (issue) => `unknown flow kind ${JSON.stringify(issue.input)}; expected one of ${FLOW_KINDS.join(', ')}`,
  }),
  description: z.string().optional(),
  saveData: z.boolean().optional(),
  inputs: z.record(identifier('an input name'), z.union([ValueTypeSchema, FlowInputSchema])).optional(),
  outputs: z.record(identifier('an output name'), ValueTypeSchema).optional(),
  cards: z.array(CardSchema),
});

export const FlowsSchema: z.ZodType<FlowDefinition[]> = z.array(FlowDefinitionSchema);

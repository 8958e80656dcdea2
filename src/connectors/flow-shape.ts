/**
 * The shape of a connector's `flows` list as the connector schema sees it (docs/flows.md): flow names, kinds, typed
 * inputs and outputs, and cards identified by `type` and `id`. This is the structural gate applied at load time, so a
 * file with a misspelled card type or two revoke flows is rejected with a located message before anything runs. The
 * deep checks (references, types, Call Flow signatures, recursion) belong to the flow compiler, which the registry
 * runs on every loaded connector.
 */

import { z } from 'zod';

export const FLOW_KINDS = ['action', 'helper', 'authping', 'revoke'] as const;
export const FLOW_VALUE_TYPES = ['text', 'number', 'boolean', 'object', 'list', 'any'] as const;
export const CARD_TYPES = [
  'http', 'callFlow', 'ifError', 'assign', 'assignIf', 'continueIf', 'objectConstruct', 'objectGet', 'textCompose',
  'jsonParse', 'jsonStringify', 'return', 'returnError',
] as const;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ValueType = z.enum(FLOW_VALUE_TYPES, { error: `expected a type: ${FLOW_VALUE_TYPES.join(', ')}` });

/** A card: its type and id are checked here; its fields by the flow compiler. */
const CardShape: z.ZodType<Record<string, unknown>> = z.lazy(() =>
  z.looseObject({
    type: z.enum(CARD_TYPES, { error: `expected a card type: ${CARD_TYPES.join(', ')}` }),
    id: z.string().regex(NAME, 'expected a card id of letters, digits and _').optional(),
    try: z.array(CardShape).optional(),
    catch: z.array(CardShape).optional(),
  }),
);

export const FlowShapeSchema = z.strictObject({
  name: z.string({ error: 'expected the flow name' }).regex(NAME, 'expected a flow name of letters, digits and _'),
  kind: z.enum(FLOW_KINDS, { error: `expected a flow kind: ${FLOW_KINDS.join(', ')}` }),
  description: z.string().optional(),
  saveData: z.boolean().optional(),
  /** name -> declaration; a bare type (`relative_url: text`) is shorthand for `{ type }`. */
  inputs: z
    .record(
      z.string().regex(NAME, 'expected an input name of letters, digits and _'),
      z.union([ValueType, z.strictObject({ type: ValueType, required: z.boolean().optional(), description: z.string().optional() })]),
    )
    .optional(),
  outputs: z.record(z.string().regex(NAME, 'expected an output name of letters, digits and _'), ValueType).optional(),
  cards: z.array(CardShape).min(1, 'expected at least one card'),
});

const SYSTEM_NAMES: Record<string, (typeof FLOW_KINDS)[number]> = { _authping: 'authping', _revoke: 'revoke' };

export const FlowListSchema = z.array(FlowShapeSchema).superRefine((flows, ctx) => {
  const names = new Map<string, number>();
  const systemKinds = new Map<string, number>();
  flows.forEach((flow, index) => {
    const previous = names.get(flow.name);
    if (previous !== undefined) {
      ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate flow name "${flow.name}" (also flows[${previous}])` });
    }
    names.set(flow.name, index);
    const expectedKind = SYSTEM_NAMES[flow.name];
    if (expectedKind !== undefined && flow.kind !== expectedKind) {
      ctx.addIssue({ code: 'custom', path: [index, 'kind'], message: `a flow named ${flow.name} must have kind ${expectedKind}` });
    } else if (expectedKind === undefined && flow.name.startsWith('_') && flow.kind !== 'authping' && flow.kind !== 'revoke') {
      ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `names starting with _ are reserved for system flows (authping, revoke); rename "${flow.name}"` });
    }
    if (flow.kind === 'authping' || flow.kind === 'revoke') {
      const other = systemKinds.get(flow.kind);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: [index, 'kind'], message: `at most one ${flow.kind} flow per connector (flows[${other}] is one already)` });
      }
      systemKinds.set(flow.kind, index);
      if (Object.keys(flow.inputs ?? {}).length > 0) {
        ctx.addIssue({ code: 'custom', path: [index, 'inputs'], message: `a ${flow.kind} flow takes no inputs` });
      }
    }
  });
});

export type FlowShape = z.output<typeof FlowShapeSchema>;

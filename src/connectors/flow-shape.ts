/**
 * The `flows` list of a connector definition: each flow is checked by the flow engine's own schema
 * (`FlowDefinitionSchema`: card types, required fields, misspelled field names), and the list by the system flow rules
 * that need no compilation (unique names, at most one authping and one revoke flow, reserved names, no inputs on
 * system flows). Checking these at load time locates them on a YAML line; the compiler, run by the registry on every
 * loaded connector, then resolves references, types and Call Flow signatures.
 */

import { z } from 'zod';
import { FlowDefinitionSchema, FLOW_KINDS } from '../flows/schema.ts';

const SYSTEM_NAMES: Record<string, (typeof FLOW_KINDS)[number]> = { _authping: 'authping', _revoke: 'revoke' };

export const FlowListSchema = z.array(FlowDefinitionSchema).superRefine((flows, ctx) => {
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

/** Assign: names values (literals or references) so later cards can refer to them as `<card>.<name>`. */
import { evaluateEntries, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { AssignCardNode } from '../tree.ts';

export function runAssign(node: AssignCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const values = evaluateEntries(node.values, frame, run);
  if (trace !== null) trace.inputs = values;
  return values;
}

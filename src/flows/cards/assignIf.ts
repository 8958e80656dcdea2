/** Assign If: compares value a with value b and outputs `ifTrue` or `ifFalse` under the card's output name. */
import { compare, evaluate, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { AssignIfCardNode } from '../tree.ts';

export function runAssignIf(node: AssignIfCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const a = evaluate(node.a, frame, run);
  const b = evaluate(node.b, frame, run);
  const holds = compare(a, node.comparison, b);
  // Only the chosen branch is evaluated: the other may refer to values that are meaningless in this case.
  const value = evaluate(holds ? node.ifTrue : node.ifFalse, frame, run);
  if (trace !== null) trace.inputs = { a, comparison: node.comparison, b, result: holds };
  return { [node.output]: value };
}

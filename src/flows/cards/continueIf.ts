/** Continue If: lets the flow go on when the comparison holds, otherwise halts it with FLOW_FAILED and the message. */
import { asText, compare, evaluate, flowFailed, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { ContinueIfCardNode } from '../tree.ts';

export function runContinueIf(node: ContinueIfCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const a = evaluate(node.a, frame, run);
  const b = evaluate(node.b, frame, run);
  const holds = compare(a, node.comparison, b);
  if (trace !== null) trace.inputs = { a, comparison: node.comparison, b, result: holds };
  if (!holds) {
    const message = node.message === null ? '' : asText(evaluate(node.message, frame, run));
    throw flowFailed(message === '' ? `Continue If at ${node.locator} stopped the flow: the condition '${node.comparison}' did not hold` : message);
  }
  return {};
}

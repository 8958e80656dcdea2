/** Return: ends the flow with its outputs; inside an If Error branch it ends that If Error, whose outputs it sets. */
import { evaluateEntries, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { ReturnCardNode } from '../tree.ts';

export function runReturn(node: ReturnCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const values = evaluateEntries(node.values, frame, run);
  if (trace !== null) trace.inputs = values;
  return values;
}

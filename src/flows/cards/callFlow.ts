/** Call Flow: runs a helper flow of the same connector with inputs and exposes the helper's declared outputs. */
import { evaluateEntries, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { CallFlowCardNode } from '../tree.ts';

export async function runCallFlow(node: CallFlowCardNode, frame: Frame, run: Run, trace: CardTrace | null): Promise<Record<string, unknown>> {
  const inputs = evaluateEntries(node.inputs, frame, run);
  if (trace !== null) trace.inputs = inputs;
  // The compiler checked that the helper exists and that node.outputs match its outputs.
  const returned = await run.callFlow(run.connector.flows[node.flow], inputs, frame.depth + 1);
  const outputs: Record<string, unknown> = {};
  for (const name of node.outputs) outputs[name] = returned[name] ?? null;
  return outputs;
}

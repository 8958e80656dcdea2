/**
 * If Error: runs the try branch; when one of its cards fails, runs the catch branch with `error` set to
 * `{ message, code, card, flow, execution, statusCode? }`. The card's outputs come from the branch that ran: from a
 * Return inside it, else from the branch's mapping. Limit errors are not caught: bounds hold whatever the flow does.
 */
import { PlugboardError } from '../../core/errors.ts';
import { errorOrigins, evaluate, isFatal, type CardTrace, type Completion, type Frame, type HandledError, type Run } from '../runtime.ts';
import type { IfErrorCardNode } from '../tree.ts';

export async function runIfError(node: IfErrorCardNode, frame: Frame, run: Run, trace: CardTrace | null): Promise<Record<string, unknown>> {
  let completion: Completion;
  try {
    completion = await run.runCards(node.try, frame);
  } catch (error) {
    if (isFatal(error) || run.signal?.aborted === true) throw error;
    const previous = frame.error;
    frame.error = handledError(error, frame, run);
    if (trace !== null) trace.inputs = { branch: 'catch', error: frame.error };
    try {
      completion = await run.runCards(node.catch, frame);
      return completion !== null ? completion.values : branchOutputs(node, 2, frame, run);
    } finally {
      frame.error = previous;
    }
  }
  if (trace !== null) trace.inputs = { branch: 'try' };
  return completion !== null ? completion.values : branchOutputs(node, 1, frame, run);
}

function branchOutputs(node: IfErrorCardNode, branch: 1 | 2, frame: Frame, run: Run): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const mapping of node.outputs) {
    const source = mapping[branch];
    outputs[mapping[0]] = source === null ? null : evaluate(source, frame, run);
  }
  return outputs;
}

function handledError(error: unknown, frame: Frame, run: Run): HandledError {
  const origin = error !== null && typeof error === 'object' ? errorOrigins.get(error) : undefined;
  const handled: HandledError = {
    message: error instanceof Error ? error.message : 'the card failed',
    code: error instanceof PlugboardError ? error.code : 'INTERNAL',
    card: origin?.card ?? '',
    flow: origin?.flow ?? frame.flow.name,
    execution: run.executionId,
  };
  const provider = error instanceof PlugboardError ? error.providerMessage : undefined;
  if (provider !== null && typeof provider === 'object' && typeof (provider as { statusCode?: unknown }).statusCode === 'number') {
    handled.statusCode = (provider as { statusCode: number }).statusCode;
  }
  return handled;
}

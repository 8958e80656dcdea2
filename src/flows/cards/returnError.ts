/** Return Error: ends the flow with FLOW_FAILED and the card's message (an enclosing If Error catches it). */
import { PlugboardError } from '../../core/errors.ts';
import { asText, evaluate, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { ReturnErrorCardNode } from '../tree.ts';

export function runReturnError(node: ReturnErrorCardNode, frame: Frame, run: Run, trace: CardTrace | null): never {
  const message = asText(evaluate(node.message, frame, run)) || `Return Error at ${node.locator}`;
  const statusCode = node.statusCode === null ? null : evaluate(node.statusCode, frame, run);
  if (trace !== null) trace.inputs = { message, code: node.code, statusCode };
  throw new PlugboardError('FLOW_FAILED', message, {
    providerMessage: { code: node.code, ...(typeof statusCode === 'number' ? { statusCode } : {}) },
  });
}

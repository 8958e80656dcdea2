/** JSON Stringify: writes a value as JSON text, bounded by the execution's body size limit. */
import { assertJsonWithin, evaluate, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { JsonStringifyCardNode } from '../tree.ts';

export function runJsonStringify(node: JsonStringifyCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const value = evaluate(node.value, frame, run);
  if (trace !== null) trace.inputs = { value };
  assertJsonWithin(value, run.limits.maxBodyBytes, `JSON Stringify at ${node.locator}: the value`);
  return { [node.output]: JSON.stringify(value) ?? 'null' };
}

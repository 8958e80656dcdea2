/** Object Construct: builds an object from named values, optionally on top of a base object's keys. */
import { evaluate, flowFailed, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { ObjectConstructCardNode } from '../tree.ts';

export function runObjectConstruct(node: ObjectConstructCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  if (node.base !== null) {
    const base = evaluate(node.base, frame, run);
    if (base !== null && (typeof base !== 'object' || Array.isArray(base))) {
      throw flowFailed(`Object Construct at ${node.locator}: base must be an object, got ${Array.isArray(base) ? 'a list' : typeof base}`);
    }
    if (base !== null) Object.assign(object, base);
  }
  for (const [key, value] of node.values) object[key] = evaluate(value, frame, run);
  if (trace !== null) trace.inputs = object;
  return { [node.output]: object };
}

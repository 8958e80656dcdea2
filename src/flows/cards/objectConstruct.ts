/** Object Construct: builds an object from named values, optionally on top of a base object's keys. */
import { evaluate, flowFailed, setOwn, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { ObjectConstructCardNode } from '../tree.ts';

export function runObjectConstruct(node: ObjectConstructCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  if (node.base !== null) {
    const base = evaluate(node.base, frame, run);
    if (base !== null && (typeof base !== 'object' || Array.isArray(base))) {
      throw flowFailed(`Object Construct at ${node.locator}: base must be an object, got ${Array.isArray(base) ? 'a list' : typeof base}`);
    }
    if (base !== null) for (const key in base) if (Object.hasOwn(base, key)) setOwn(object, key, (base as Record<string, unknown>)[key]);
  }
  const values = node.values;
  for (let i = 0; i < values.length; i++) setOwn(object, values[i][0], evaluate(values[i][1], frame, run));
  if (trace !== null) trace.inputs = object;
  return { [node.output]: object };
}

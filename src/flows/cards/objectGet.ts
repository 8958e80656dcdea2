/** Object Get: reads a dotted path (`a.b.0.c`) inside an object or list; a missing path gives the default or null. */
import { evaluate, readPath, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { ObjectGetCardNode } from '../tree.ts';

export function runObjectGet(node: ObjectGetCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const object = evaluate(node.object, frame, run);
  let value = readPath(object, node.path);
  if (value === null && node.default !== null) value = evaluate(node.default, frame, run);
  if (trace !== null) trace.inputs = { object, path: node.path.join('.') };
  return { [node.output]: value };
}

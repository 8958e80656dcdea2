/** Text Compose: fills a `{{ ref }}` template; objects and lists are written as JSON, null as nothing. */
import { evaluate, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { TextComposeCardNode } from '../tree.ts';

export function runTextCompose(node: TextComposeCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const text = evaluate(node.template, frame, run);
  if (trace !== null) trace.inputs = {};
  return { [node.output]: text };
}

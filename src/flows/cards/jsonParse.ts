/** JSON Parse: turns JSON text into a value; text that is not JSON fails the card (If Error can catch it). */
import { asText, evaluate, flowFailed, limitExceeded, type CardTrace, type Frame, type Run } from '../runtime.ts';
import type { JsonParseCardNode } from '../tree.ts';

export function runJsonParse(node: JsonParseCardNode, frame: Frame, run: Run, trace: CardTrace | null): Record<string, unknown> {
  const text = asText(evaluate(node.text, frame, run));
  if (trace !== null) trace.inputs = { text };
  if (text.length > run.limits.maxBodyBytes) throw limitExceeded(`JSON Parse at ${node.locator}: the text is larger than ${run.limits.maxBodyBytes} bytes`);
  try {
    return { [node.output]: JSON.parse(text) as unknown };
  } catch (error) {
    throw flowFailed(`JSON Parse at ${node.locator}: the text is not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
}

/** The clean-up stack: last in, first out, every step run even after a failure, the failures thrown at the end. */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupStack } from './cleanup.ts';

function fakeContext(): { t: TestContext; run: () => Promise<void> } {
  let hook: (() => Promise<void>) | undefined;
  const t = { after: (fn: () => Promise<void>) => void (hook = fn) } as unknown as TestContext;
  return { t, run: () => hook!() };
}

test('steps run last in, first out', async () => {
  const { t, run } = fakeContext();
  const cleanup = cleanupStack(t);
  const order: string[] = [];
  cleanup(() => order.push('server'));
  cleanup(async () => order.push('browser'));
  await run();
  assert.deepEqual(order, ['browser', 'server']);
});

test('a failing step does not stop the others; its error is thrown after them', async () => {
  const { t, run } = fakeContext();
  const cleanup = cleanupStack(t);
  const order: string[] = [];
  cleanup(() => order.push('browser'));
  cleanup(() => {
    throw new Error('folder busy');
  });
  cleanup(() => order.push('receiver'));
  await assert.rejects(run(), /folder busy/);
  assert.deepEqual(order, ['receiver', 'browser']);
});

test('several failures are thrown together', async () => {
  const { t, run } = fakeContext();
  const cleanup = cleanupStack(t);
  cleanup(() => Promise.reject(new Error('one')));
  cleanup(() => {
    throw new Error('two');
  });
  await assert.rejects(run(), (error: unknown) => error instanceof AggregateError && error.errors.length === 2 && /2 clean-up steps failed/.test(error.message));
});

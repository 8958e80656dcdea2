/**
 * The per-provider gate of revocation calls: never more than the limit in flight for one provider, providers
 * independent of each other, a failing call frees its slot, waiters served in arrival order, a bad limit refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderGate } from '../../src/revocation/gate.ts';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

test('at most `limit` calls run at once for one provider', async () => {
  const gate = new ProviderGate(3);
  let running = 0;
  let peak = 0;
  await Promise.all(Array.from({ length: 20 }, () => gate.run('sandbox', async () => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 2));
    running -= 1;
  })));
  assert.equal(peak, 3);
  assert.equal(gate.inFlight('sandbox'), 0);
});

test('a full provider does not hold back another one', async () => {
  const gate = new ProviderGate(1);
  const blocker = deferred();
  const first = gate.run('slow', () => blocker.promise);
  let otherRan = false;
  await gate.run('fast', async () => {
    otherRan = true;
  });
  assert.equal(otherRan, true);
  assert.equal(gate.inFlight('slow'), 1);
  blocker.resolve();
  await first;
});

test('a call that throws frees its slot and the error reaches the caller', async () => {
  const gate = new ProviderGate(1);
  await assert.rejects(gate.run('p', async () => {
    throw new Error('provider exploded');
  }), /provider exploded/);
  assert.equal(gate.inFlight('p'), 0);
  assert.equal(await gate.run('p', async () => 'next'), 'next');
});

test('waiters are served in arrival order', async () => {
  const gate = new ProviderGate(1);
  const blocker = deferred();
  const order: number[] = [];
  const first = gate.run('p', () => blocker.promise);
  const waiting = [1, 2, 3].map((n) => gate.run('p', async () => {
    order.push(n);
  }));
  blocker.resolve();
  await Promise.all([first, ...waiting]);
  assert.deepEqual(order, [1, 2, 3]);
});

test('a limit that is not a positive integer is refused with its value', () => {
  assert.throws(() => new ProviderGate(0), /positive integer, got 0/);
  assert.throws(() => new ProviderGate(1.5), /positive integer, got 1.5/);
});

/**
 * WriteBatcher: items added together are flushed together (by size or after the delay), each caller's promise settles
 * with its batch, and a failed flush rejects exactly the callers of that batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteBatcher } from '../../src/jobs/batcher.ts';

test('flushes when the batch is full, without waiting for the delay', async () => {
  const flushed: number[][] = [];
  const batcher = new WriteBatcher<number>(async (items) => { flushed.push(items); }, { max: 3, delayMs: 60_000 });
  await Promise.all([batcher.add(1), batcher.add(2), batcher.add(3)]);
  assert.deepEqual(flushed, [[1, 2, 3]]);
});

test('flushes a partial batch after the delay', async () => {
  const flushed: number[][] = [];
  const batcher = new WriteBatcher<number>(async (items) => { flushed.push(items); }, { max: 100, delayMs: 10 });
  const started = Date.now();
  await Promise.all([batcher.add(1), batcher.add(2)]);
  assert.deepEqual(flushed, [[1, 2]]);
  assert.ok(Date.now() - started >= 8);
});

test('a failed flush rejects the callers of that batch only', async () => {
  let calls = 0;
  const batcher = new WriteBatcher<number>(async () => {
    calls += 1;
    if (calls === 1) throw new Error('database is locked');
  }, { max: 2, delayMs: 5 });
  const first = Promise.allSettled([batcher.add(1), batcher.add(2)]);
  const second = Promise.allSettled([batcher.add(3), batcher.add(4)]);
  const [a, b] = await Promise.all([first, second]);
  assert.deepEqual(a.map((r) => r.status), ['rejected', 'rejected']);
  assert.deepEqual(b.map((r) => r.status), ['fulfilled', 'fulfilled']);
});

test('items added after a flush start a new batch', async () => {
  const flushed: number[][] = [];
  const batcher = new WriteBatcher<number>(async (items) => { flushed.push(items); }, { max: 2, delayMs: 5 });
  await Promise.all([batcher.add(1), batcher.add(2)]);
  await batcher.add(3);
  assert.deepEqual(flushed, [[1, 2], [3]]);
});

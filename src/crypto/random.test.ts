/** Unit test of the time-ordered row ids used for rows written in bulk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newOrderedIds } from './random.ts';

test('newOrderedIds: unique URL-safe ids that sort by creation, with 128 random bits each', async () => {
  const first = newOrderedIds(300);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = newOrderedIds(300);
  const all = [...first, ...second];
  assert.equal(new Set(all).size, all.length);
  for (const id of all) assert.match(id, /^[0-9a-f]{16}[A-Za-z0-9_-]{22}$/);
  assert.deepEqual([...all].sort(), all, 'in creation order, within a call and across calls');
  // The random part differs even between neighbours.
  assert.notEqual(first[0]?.slice(16), first[1]?.slice(16));
  assert.deepEqual(newOrderedIds(0), []);
});

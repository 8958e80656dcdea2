/** Unit tests of the random row ids, and of the time-ordered ones used for rows written in bulk. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, newOrderedIds } from './random.ts';

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

test('newId: 22 URL-safe characters, never a leading "-" (a command line would read it as an option)', () => {
  // Without the redraw, 1 id in 64 starts with "-": 20,000 draws all missing it would happen with odds of 1e-137.
  const ids = Array.from({ length: 20_000 }, () => newId());
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  assert.equal(new Set(ids).size, ids.length);
  // Every other first character still occurs: the redraw removes "-" and skews nothing else away.
  assert.equal(new Set(ids.map((id) => id[0])).size, 63);
});

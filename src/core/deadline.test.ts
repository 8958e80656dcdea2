/** endsWithin: resolves in time, runs out of time, passes a rejection on, and leaves no timer behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endsWithin } from './deadline.ts';

test('true when the work resolves within the time', async () => {
  assert.equal(await endsWithin(new Promise((resolve) => setTimeout(resolve, 5)), 1_000), true);
});

test('false when the time is up first; the work is not cancelled', async () => {
  let finished = false;
  const work = new Promise<void>((resolve) => setTimeout(() => {
    finished = true;
    resolve();
  }, 60));
  assert.equal(await endsWithin(work, 10), false);
  await work;
  assert.equal(finished, true);
});

test('a rejection within the time is passed on', async () => {
  await assert.rejects(endsWithin(Promise.reject(new Error('stop failed')), 1_000), /stop failed/);
});

test('no timer is left running once the work has ended', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  await endsWithin(Promise.resolve(), 60_000);
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
});

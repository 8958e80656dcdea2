/**
 * Several Plugboard processes starting at the same moment on one empty PostgreSQL database: each job queue (its own
 * connection pool, as a separate process would have) must start, although pg-boss creates its schema and queues on
 * first start; and a job enqueued afterwards still runs exactly once across all of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type Store } from '../../src/store/index.ts';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.ts';
import { openTestStore, waitFor } from './backends.ts';

const postgres = process.env.PLUGBOARD_TEST_DATABASE_URL !== undefined;

test('three job queues with separate pools start at once on a fresh PostgreSQL database; each job runs once', { skip: !postgres && 'needs PLUGBOARD_TEST_DATABASE_URL', timeout: 60_000 }, async () => {
  const first = await openTestStore('postgres');
  const stores: Store[] = [first.store];
  const queues: JobQueue[] = [];
  try {
    for (let i = 0; i < 2; i += 1) stores.push(await openStore(first.location));
    const runs = new Map<number, number>();
    for (const store of stores) {
      const queue = createJobQueue({ store, pollIntervalMs: 50, superviseIntervalSeconds: 1 });
      queue.define<{ n: number }>('race.work', async ({ n }) => {
        runs.set(n, (runs.get(n) ?? 0) + 1);
      }, { concurrency: 5 });
      queue.define<{ n: number }>('race.other', async () => undefined);
      queues.push(queue);
    }
    const started = await Promise.allSettled(queues.map((queue) => queue.start()));
    const failures = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => String(s.reason));
    assert.deepEqual(failures, [], 'every queue starts');
    const jobs = 60;
    await queues[1]?.enqueueMany('race.work', Array.from({ length: jobs }, (_, n) => ({ data: { n } })));
    await waitFor(() => runs.size === jobs, 20_000, 'all jobs ran');
    // Give a duplicate delivery the chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(runs.size, jobs);
    assert.deepEqual([...runs.values()].filter((count) => count !== 1), [], 'no job ran twice');
  } finally {
    await Promise.allSettled(queues.map((queue) => queue.stop({ timeoutMs: 2000 })));
    for (const store of stores.slice(1)) await store.close();
    await first.cleanup();
  }
});

/**
 * The job queue contract, run on every backend (SQLite always, pg-boss when PLUGBOARD_TEST_DATABASE_URL is set):
 * runs and deletes jobs, retries with backoff, honours Retry-After, bounds attempts, fails fatal errors at once,
 * enforces per-group concurrency, de-duplicates by singleton key, batch-enqueues, stops gracefully and hands
 * unfinished jobs back. Negative cases first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createJobQueue, JobFatalError, JobRetryError, type JobQueue } from '../../src/jobs/index.ts';
import { BACKENDS, openTestStore, waitFor, type TestStore } from './backends.ts';

for (const backend of BACKENDS) {
  describe(`job queue on ${backend}`, () => {
    let t: TestStore;
    const queues: JobQueue[] = [];
    let counter = 0;
    /** A fresh queue and a unique job name per test, so tests never see each other's jobs. */
    function fresh(options: { leaseMs?: number } = {}): { queue: JobQueue; name: string } {
      const queue = createJobQueue({ store: t.store, pollIntervalMs: 50, superviseIntervalSeconds: 1, ...options });
      queues.push(queue);
      counter += 1;
      return { queue, name: `test.job-${counter}` };
    }

    before(async () => {
      t = await openTestStore(backend);
    });
    after(async () => {
      for (const queue of queues) await queue.stop({ timeoutMs: 100 });
      await t.cleanup();
    });

    test('rejects a job name outside the safe alphabet', () => {
      const { queue } = fresh();
      assert.throws(() => queue.define('Bad Name!', async () => {}), /must match/);
      assert.throws(() => queue.define('', async () => {}), /must match/);
    });

    test('rejects defining the same name twice', () => {
      const { queue, name } = fresh();
      queue.define(name, async () => {});
      assert.throws(() => queue.define(name, async () => {}), /already defined/);
    });

    test('rejects non-positive concurrency, attempts and group limits', () => {
      const { queue, name } = fresh();
      assert.throws(() => queue.define(name, async () => {}, { concurrency: 0 }), /positive integer/);
      assert.throws(() => queue.define(`${name}b`, async () => {}, { maxAttempts: 1.5 }), /positive integer/);
      assert.throws(
        () => queue.define(`${name}c`, async () => {}, { groupConcurrency: { key: () => 'g', limit: -1 } }),
        /positive integer/,
      );
    });

    test('rejects enqueueing a name that was never defined', async () => {
      const { queue } = fresh();
      await assert.rejects(queue.enqueue('test.nobody', {}), /not defined/);
      await assert.rejects(queue.enqueueMany('test.nobody', [{ data: {} }]), /not defined/);
    });

    test('rejects an invalid startAfter and a second start', async () => {
      const { queue, name } = fresh();
      queue.define(name, async () => {});
      await assert.rejects(queue.enqueue(name, {}, { startAfter: new Date('nope') }), /not a valid time/);
      await queue.start();
      await assert.rejects(queue.start(), /cannot start twice/);
      await queue.stop();
      await assert.rejects(queue.enqueue(name, {}), /after the queue stopped/);
    });

    test('a fatal error fails the job at once, without retries', async () => {
      const { queue, name } = fresh();
      let runs = 0;
      queue.define(name, async () => {
        runs += 1;
        throw new JobFatalError('the token is malformed');
      }, { maxAttempts: 5, backoff: { baseMs: 10 } });
      await queue.start();
      await queue.enqueue(name, { n: 1 });
      await waitFor(async () => (await queue.counts(name)).failed === 1, 10_000, 'the job to fail');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(runs, 1);
    });

    test('attempts are bounded: a job that always fails runs maxAttempts times, then fails', async () => {
      const { queue, name } = fresh();
      const attempts: number[] = [];
      const lastFlags: boolean[] = [];
      queue.define(name, async (_data, ctx) => {
        attempts.push(ctx.attempt);
        lastFlags.push(ctx.isLastAttempt);
        throw new Error('provider answered 503');
      }, { maxAttempts: 3, backoff: { baseMs: 20, maxMs: 40 } });
      await queue.start();
      await queue.enqueue(name, {});
      await waitFor(async () => (await queue.counts(name)).failed === 1, 10_000, 'the job to fail');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(lastFlags, [false, false, true]);
      assert.deepEqual(await queue.counts(name), { queued: 0, active: 0, failed: 1 });
    });

    test('retries with exponential backoff, then succeeds and the job is gone', async () => {
      const { queue, name } = fresh();
      const times: number[] = [];
      queue.define(name, async () => {
        times.push(Date.now());
        if (times.length < 3) throw new Error('network error');
      }, { maxAttempts: 5, backoff: { baseMs: 200, maxMs: 10_000 } });
      await queue.start();
      await queue.enqueue(name, { n: 1 });
      await waitFor(() => times.length === 3, 15_000, 'three attempts');
      await waitFor(async () => {
        const c = await queue.counts(name);
        return c.queued + c.active + c.failed === 0;
      }, 5_000, 'the completed job to be removed');
      // Equal jitter: the delay after attempt n is at least half of base * 2^(n-1).
      assert.ok((times[1] as number) - (times[0] as number) >= 100, `first retry came after ${(times[1] as number) - (times[0] as number)} ms`);
      assert.ok((times[2] as number) - (times[1] as number) >= 200, `second retry came after ${(times[2] as number) - (times[1] as number)} ms`);
    });

    test('honours Retry-After: the next attempt waits the delay the handler asked for', async () => {
      const { queue, name } = fresh();
      const times: number[] = [];
      queue.define(name, async () => {
        times.push(Date.now());
        if (times.length === 1) throw new JobRetryError('429 Too Many Requests', 1200);
      }, { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 } });
      await queue.start();
      await queue.enqueue(name, {});
      await waitFor(() => times.length === 2, 10_000, 'the second attempt');
      const waited = (times[1] as number) - (times[0] as number);
      assert.ok(waited >= 1150, `retried after ${waited} ms, Retry-After asked for 1200 ms`);
    });

    test('startAfter delays the first run', async () => {
      const { queue, name } = fresh();
      let ranAt = 0;
      queue.define(name, async () => {
        ranAt = Date.now();
      });
      await queue.start();
      const enqueuedAt = Date.now();
      await queue.enqueue(name, {}, { startAfter: 600 });
      await waitFor(() => ranAt > 0, 10_000, 'the delayed job');
      assert.ok(ranAt - enqueuedAt >= 550, `ran after ${ranAt - enqueuedAt} ms`);
    });

    test('a singleton key admits one unfinished job; the key is free again once it completes', async () => {
      const { queue, name } = fresh();
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let runs = 0;
      queue.define(name, async () => {
        runs += 1;
        await gate;
      });
      const first = await queue.enqueue(name, { n: 1 }, { singletonKey: 'conn-1' });
      assert.ok(first);
      assert.equal(await queue.enqueue(name, { n: 2 }, { singletonKey: 'conn-1' }), null);
      assert.equal(await queue.enqueueMany(name, [{ data: { n: 3 }, options: { singletonKey: 'conn-1' } }, { data: { n: 4 }, options: { singletonKey: 'conn-2' } }]), 1);
      await queue.start();
      await waitFor(() => runs === 2, 10_000, 'both keys to run');
      assert.equal(await queue.enqueue(name, { n: 5 }, { singletonKey: 'conn-1' }), null, 'still running: the key is taken');
      release();
      await waitFor(async () => (await queue.counts(name)).active === 0, 10_000, 'the jobs to complete');
      assert.ok(await queue.enqueue(name, { n: 6 }, { singletonKey: 'conn-1' }));
    });

    test('per-group concurrency: never more than the limit of one group at a time, groups run side by side', async () => {
      const { queue, name } = fresh();
      const running = new Map<string, number>();
      const peak = new Map<string, number>();
      let globalRunning = 0;
      let globalPeak = 0;
      queue.define<{ provider: string }>(name, async ({ provider }) => {
        running.set(provider, (running.get(provider) ?? 0) + 1);
        globalRunning += 1;
        peak.set(provider, Math.max(peak.get(provider) ?? 0, running.get(provider) as number));
        globalPeak = Math.max(globalPeak, globalRunning);
        await new Promise((resolve) => setTimeout(resolve, 30));
        running.set(provider, (running.get(provider) as number) - 1);
        globalRunning -= 1;
      }, { concurrency: 8, groupConcurrency: { key: (d) => d.provider, limit: 2 } });
      const items = Array.from({ length: 30 }, (_, i) => ({ data: { provider: ['google', 'slack', 'box'][i % 3] as string } }));
      assert.equal(await queue.enqueueMany(name, items), 30);
      await queue.start();
      await waitFor(async () => {
        const c = await queue.counts(name);
        return c.queued + c.active === 0 && globalRunning === 0;
      }, 20_000, 'all 30 jobs');
      for (const [provider, max] of peak) assert.ok(max <= 2, `${provider} ran ${max} at once, limit 2`);
      assert.ok(globalPeak > 2, `groups should run side by side, peak was ${globalPeak}`);
    });

    test('enqueueMany of 2,000 jobs: each runs exactly once with no failures', async () => {
      const { queue, name } = fresh();
      const seen = new Map<number, number>();
      queue.define<{ n: number }>(name, async ({ n }) => {
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }, { concurrency: 50 });
      const items = Array.from({ length: 2000 }, (_, n) => ({ data: { n } }));
      assert.equal(await queue.enqueueMany(name, items), 2000);
      await queue.start();
      await waitFor(() => seen.size === 2000, 30_000, '2000 jobs');
      assert.ok([...seen.values()].every((count) => count === 1));
      await waitFor(async () => {
        const c = await queue.counts(name);
        return c.queued + c.active + c.failed === 0;
      }, 5_000, 'the completed jobs to be removed');
    });

    test('graceful stop: a handler that outlives the grace period is aborted and its job handed back to the next runner', async () => {
      const first = fresh({ leaseMs: 60_000 });
      const name = first.name;
      let aborted = false;
      first.queue.define(name, async (_data, ctx) => {
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        });
        throw new Error('aborted');
      });
      await first.queue.enqueue(name, { n: 1 });
      await first.queue.start();
      await waitFor(async () => (await first.queue.counts(name)).active === 1, 10_000, 'the job to start');
      await first.queue.stop({ timeoutMs: 100 });
      assert.equal(aborted, true);
      // Handed back: runnable at once by another runner despite the 60 s lease, and the attempt not counted.
      const second = createJobQueue({ store: t.store, pollIntervalMs: 50, superviseIntervalSeconds: 1 });
      queues.push(second);
      const attempts: number[] = [];
      second.define(name, async (_data, ctx) => {
        attempts.push(ctx.attempt);
      });
      await second.start();
      await waitFor(() => attempts.length === 1, 10_000, 'the handed-back job to run');
      assert.deepEqual(attempts, [1]);
    });

    test('graceful stop waits for handlers that finish within the grace period', async () => {
      const { queue, name } = fresh();
      let finished = false;
      queue.define(name, async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        finished = true;
      });
      await queue.enqueue(name, {});
      await queue.start();
      await waitFor(async () => (await queue.counts(name)).active === 1, 10_000, 'the job to start');
      await queue.stop({ timeoutMs: 5_000 });
      assert.equal(finished, true);
      assert.deepEqual(await createCounts(name), { queued: 0, active: 0, failed: 0 });
    });

    async function createCounts(name: string) {
      const probe = createJobQueue({ store: t.store });
      queues.push(probe);
      probe.define(name, async () => {});
      return probe.counts(name);
    }
  });
}

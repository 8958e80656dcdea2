/**
 * Crash safety of the job queue on every backend: a child process working a batch of jobs is killed with SIGKILL
 * mid-way; a new process starts, picks up the dead runner's jobs once their lease expires, and every job completes at
 * least once: none is lost, none is left queued or failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobQueue } from '../../src/jobs/index.ts';
import { BACKENDS, openTestStore, waitFor } from '../jobs/backends.ts';

const WORKER = fileURLToPath(new URL('./fixtures/jobWorker.ts', import.meta.url));
const JOBS = 400;

function startWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [WORKER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

function done(out: string): number[] {
  if (!existsSync(out)) return [];
  return readFileSync(out, 'utf8').split('\n').filter(Boolean).map(Number);
}

for (const backend of BACKENDS) {
  test(`SIGKILL mid-batch on ${backend}: a restarted runner completes every job, none lost`, { timeout: 60_000 }, async () => {
    const t = await openTestStore(backend);
    const out = path.join(t.location.dataDir, 'done.txt');
    const env = { PLUGBOARD_FAULT_STORE: JSON.stringify(t.location), PLUGBOARD_FAULT_OUT: out };
    // Same lease as the workers: on pg-boss a job's lease (expireInSeconds) is fixed when it is inserted.
    const queue = createJobQueue({ store: t.store, leaseMs: 1000 });
    queue.define('fault.work', async () => {
      throw new Error('the parent only enqueues');
    });
    let first: ChildProcess | undefined;
    let second: ChildProcess | undefined;
    try {
      assert.equal(await queue.enqueueMany('fault.work', Array.from({ length: JOBS }, (_, n) => ({ data: { n } }))), JOBS);
      const killed = startWorker(env);
      first = killed;
      await waitFor(() => done(out).length >= 60, 30_000, 'the first runner to work part of the batch');
      killed.kill('SIGKILL');
      await new Promise((resolve) => killed.once('exit', resolve));
      const beforeRestart = new Set(done(out)).size;
      assert.ok(beforeRestart < JOBS, 'the kill must land mid-batch');
      const counts = await queue.counts('fault.work');
      assert.ok(counts.queued + counts.active > 0, 'jobs must be left behind by the killed runner');

      second = startWorker(env);
      await waitFor(async () => {
        const c = await queue.counts('fault.work');
        return c.queued + c.active + c.failed === 0;
      }, 40_000, 'the restarted runner to finish the batch');
      const finished = new Set(done(out));
      const missing = Array.from({ length: JOBS }, (_, n) => n).filter((n) => !finished.has(n));
      assert.deepEqual(missing, [], 'every job ran at least once');
      assert.equal((await queue.counts('fault.work')).failed, 0);
    } finally {
      // A failed wait leaves the first runner running; a test file with a live child never exits.
      if (first !== undefined && first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      if (second && second.exitCode === null) {
        second.kill('SIGTERM');
        await new Promise((resolve) => second?.once('exit', resolve));
      }
      await queue.stop({ timeoutMs: 100 });
      await t.cleanup();
    }
  });
}

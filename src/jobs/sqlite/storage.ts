/**
 * Job storage for the embedded runner: rows in the SQLite `jobs` table (migration 0002), moved by single atomic
 * statements so two runners on one file could never both own a job. A claim is one UPDATE over a LIMITed sub-select
 * that takes due queued jobs, skipping groups that are at their limit, and returns the claimed rows: a batch of N jobs
 * costs one statement. Jobs whose lease ran out (their runner died) are put back in the queue first, once a second. Every later change is
 * guarded by the lease owner and attempt number, so a runner that lost its lease cannot overwrite the new owner's work.
 * Completed jobs are deleted.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type UpdateQueryBuilder, type UpdateResult } from 'kysely';
import type { JobsDatabase, JobState } from '../../store/jobs.ts';
import type { ClaimedJob, JobStorage, NewJob } from '../dispatcher.ts';
import { WriteBatcher } from '../batcher.ts';
import type { JobCounts } from '../types.ts';

interface SqliteToken {
  owner: string;
  attempts: number;
}

/** Rows per INSERT: 11 parameters each stays far below SQLite's 32766-parameter limit. */
const INSERT_CHUNK = 500;

/** Due jobs a claim looks at, at most, to find ones whose group has room. */
const CLAIM_WINDOW = 1000;
const RECLAIM_INTERVAL_MS = 1000;

/** Completions are deleted together: up to this many per statement, at most this long after the first. */
const COMPLETE_BATCH = 200;
const COMPLETE_DELAY_MS = 5;

export class SqliteJobStorage implements JobStorage {
  readonly backend = 'sqlite' as const;
  private readonly db: Kysely<JobsDatabase>;
  private readonly owner = randomUUID();
  // Owner-guarded: a job whose lease passed to another runner is that runner's to finish.
  private readonly completions = new WriteBatcher<string>(
    async (ids) => {
      await this.db.deleteFrom('jobs').where('id', 'in', ids).where('state', '=', 'active').where('lease_owner', '=', this.owner).execute();
    },
    { max: COMPLETE_BATCH, delayMs: COMPLETE_DELAY_MS },
  );
  private readonly lastReclaim = new Map<string, number>();

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<JobsDatabase>;
  }

  async prepare(): Promise<void> {}
  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async insert(name: string, jobs: readonly NewJob[]): Promise<(string | null)[]> {
    const now = new Date().toISOString();
    const rows = jobs.map((job) => ({
      id: randomUUID(),
      name,
      data: JSON.stringify(job.data ?? null),
      state: 'queued' as const,
      group_key: job.groupKey,
      singleton_key: job.singletonKey,
      attempts: 0,
      max_attempts: job.maxAttempts,
      run_at: job.runAt.toISOString(),
      created_at: now,
      updated_at: now,
    }));
    const inserted = new Set<string>();
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const result = await trx
          .insertInto('jobs')
          .values(rows.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) => oc.doNothing())
          .returning('id')
          .execute();
        for (const row of result) inserted.add(row.id);
      }
    });
    return rows.map((row) => (inserted.has(row.id) ? row.id : null));
  }

  /**
   * Returns jobs of dead runners (lease expired) to the queue, at most once a second per job name: a job whose runner
   * died during its last allowed attempt is failed instead of run again.
   */
  private async reclaimExpired(name: string, now: string): Promise<void> {
    const last = this.lastReclaim.get(name) ?? 0;
    if (Date.now() - last < RECLAIM_INTERVAL_MS) return;
    this.lastReclaim.set(name, Date.now());
    const expired = (qb: UpdateQueryBuilder<JobsDatabase, 'jobs', 'jobs', UpdateResult>) =>
      qb.where('name', '=', name).where('state', '=', 'active').where('lease_until', '<', now);
    await expired(this.db.updateTable('jobs'))
      .set({ state: 'failed', last_error: 'the runner stopped during the last attempt (lease expired)', lease_owner: null, lease_until: null, updated_at: now })
      .whereRef('attempts', '>=', 'max_attempts')
      .execute();
    await expired(this.db.updateTable('jobs'))
      .set({ state: 'queued', run_at: now, lease_owner: null, lease_until: null, updated_at: now })
      .execute();
  }

  async claim(name: string, limit: number, fullGroups: readonly string[], leaseMs: number): Promise<ClaimedJob[]> {
    const nowDate = new Date();
    const now = nowDate.toISOString();
    const leaseUntil = new Date(nowDate.getTime() + leaseMs).toISOString();
    await this.reclaimExpired(name, now);
    // The next due jobs in order, through the (name, state, run_at) index; the window bounds the work of skipping
    // groups at their limit, so a claim costs the same with 100 or 100,000 jobs waiting.
    const due = this.db
      .selectFrom('jobs')
      .select(['id', 'group_key'])
      .where('name', '=', name)
      .where('state', '=', 'queued')
      .where('run_at', '<=', now)
      .orderBy('run_at')
      .orderBy('id')
      .limit(CLAIM_WINDOW);
    const candidates = this.db
      .selectFrom(due.as('due'))
      .select('due.id')
      .$if(fullGroups.length > 0, (qb) => qb.where((eb) => eb.or([eb('due.group_key', 'is', null), eb('due.group_key', 'not in', [...fullGroups])])))
      .limit(limit);
    const rows = await this.db
      .updateTable('jobs')
      .set({
        state: 'active',
        attempts: sql<number>`attempts + 1`,
        lease_owner: this.owner,
        lease_until: leaseUntil,
        updated_at: now,
      })
      .where('id', 'in', candidates)
      // Re-checked in the UPDATE itself: another runner on the same file may have claimed a candidate meanwhile.
      .where('state', '=', 'queued')
      .returning(['id', 'data', 'attempts', 'max_attempts', 'group_key', 'run_at'])
      .execute();
    rows.sort((a, b) => (a.run_at < b.run_at ? -1 : a.run_at > b.run_at ? 1 : a.id < b.id ? -1 : 1));
    return rows.map((row) => ({
      id: row.id,
      name,
      data: JSON.parse(row.data) as unknown,
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      groupKey: row.group_key,
      token: { owner: this.owner, attempts: row.attempts } satisfies SqliteToken,
    }));
  }

  private owned(job: ClaimedJob) {
    const token = job.token as SqliteToken;
    return this.db
      .updateTable('jobs')
      .where('id', '=', job.id)
      .where('state', '=', 'active')
      .where('lease_owner', '=', token.owner)
      .where('attempts', '=', token.attempts);
  }

  /**
   * Completed jobs are deleted in batches (one statement for many jobs under load). The promise resolves once the
   * job's row is gone; a crash before that only means the job runs again, which at-least-once allows.
   */
  complete(job: ClaimedJob): Promise<void> {
    return this.completions.add(job.id);
  }

  async retry(job: ClaimedJob, delayMs: number, reason: string): Promise<void> {
    const now = Date.now();
    await this.owned(job)
      .set({
        state: 'queued',
        run_at: new Date(now + delayMs).toISOString(),
        lease_owner: null,
        lease_until: null,
        last_error: reason,
        updated_at: new Date(now).toISOString(),
      })
      .execute();
  }

  async fail(job: ClaimedJob, reason: string): Promise<void> {
    await this.owned(job)
      .set({ state: 'failed', lease_owner: null, lease_until: null, last_error: reason, updated_at: new Date().toISOString() })
      .execute();
  }

  async release(job: ClaimedJob): Promise<void> {
    const now = new Date().toISOString();
    await this.owned(job)
      .set({ state: 'queued', run_at: now, attempts: sql<number>`attempts - 1`, lease_owner: null, lease_until: null, updated_at: now })
      .execute();
  }

  async extendLeases(jobs: readonly ClaimedJob[], leaseMs: number): Promise<void> {
    if (jobs.length === 0) return;
    const leaseUntil = new Date(Date.now() + leaseMs).toISOString();
    await this.db
      .updateTable('jobs')
      .set({ lease_until: leaseUntil })
      .where('id', 'in', jobs.map((job) => job.id))
      .where('state', '=', 'active')
      .where('lease_owner', '=', this.owner)
      .execute();
  }

  async counts(name: string): Promise<JobCounts> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('name', '=', name)
      .groupBy('state')
      .execute();
    const counts: JobCounts = { queued: 0, active: 0, failed: 0 };
    for (const row of rows) counts[row.state as JobState] = Number(row.n);
    return counts;
  }
}

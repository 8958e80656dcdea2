/**
 * Job storage on PostgreSQL through pg-boss 11, sharing the store's Kysely connection pool (pg-boss's `db` option),
 * so several Plugboard processes work the same queues. pg-boss provides the durable rows, SKIP LOCKED batch fetching
 * and lease expiry (`expireInSeconds`: a job whose runner died is retried by pg-boss's supervisor). The retry policy
 * stays in the shared dispatcher: a retry completes the running job and inserts its successor (same data, attempt
 * count carried in the envelope, `startAfter` = the backoff or Retry-After delay) in one transaction, so the delay is
 * exactly the one the dispatcher chose and a crash between the two steps cannot lose the job.
 *
 * Queues use pg-boss's `exclusive` policy (one unfinished job per singleton key); jobs without a key get a unique one.
 * Honest limit: the per-group (per-provider) concurrency limit is enforced per process, so N processes may run up to
 * N x limit jobs of one group at once.
 */
import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import { CompiledQuery, type Kysely } from 'kysely';
import type { ClaimedJob, JobStorage, NewJob, QueueSettings } from '../dispatcher.ts';
import type { JobCounts } from '../types.ts';
import { WriteBatcher } from '../batcher.ts';

/** What pg-boss stores as job data: the caller's data plus what the dispatcher needs back on every attempt. */
interface Envelope {
  /** The caller's data. */
  d: unknown;
  /** Attempts made by earlier jobs of this chain (before Retry-After / backoff reschedules). */
  a: number;
  /** Attempts allowed in total. */
  m: number;
  /** Concurrency group. */
  g: string | null;
  /** Singleton key (a unique one when the caller gave none). */
  k: string;
}

interface PgBossToken {
  envelope: Envelope;
}

export interface PgBossStorageOptions {
  /** The store's Kysely instance (PostgreSQL dialect). */
  db: Kysely<any>;
  /** The PostgreSQL schema pg-boss installs itself in. Default `pgboss`. */
  schema?: string;
  /** How often pg-boss looks for expired leases, in seconds. Default 30 (tests use 1). */
  superviseIntervalSeconds?: number;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
const INSERT_CHUNK = 1000;

function adapter(db: Kysely<any>): PgBoss.Db {
  return {
    async executeSql(text: string, values?: unknown[]) {
      const result = await db.executeQuery(CompiledQuery.raw(text, values ?? []));
      return { rows: result.rows as any[] };
    },
  };
}

export class PgBossJobStorage implements JobStorage {
  readonly backend = 'pg-boss' as const;
  private readonly db: Kysely<any>;
  private readonly schema: string;
  readonly boss: PgBoss;
  private lastError: Error | undefined;
  private readonly completions = new Map<string, WriteBatcher<string>>();

  constructor(options: PgBossStorageOptions) {
    this.db = options.db;
    this.schema = options.schema ?? 'pgboss';
    if (!SCHEMA_PATTERN.test(this.schema)) {
      throw new TypeError(`pg-boss schema "${this.schema}" must be a plain lower-case SQL identifier`);
    }
    const supervise = options.superviseIntervalSeconds ?? 30;
    this.boss = new PgBoss({
      db: adapter(this.db),
      schema: this.schema,
      superviseIntervalSeconds: supervise,
      monitorIntervalSeconds: supervise,
      schedule: false,
    });
    this.boss.on('error', (error) => {
      this.lastError = error;
    });
  }

  /** The last background error pg-boss reported (supervision), for diagnostics. */
  get backgroundError(): Error | undefined {
    return this.lastError;
  }

  /**
   * Runs `fn` while holding a PostgreSQL session advisory lock named after the pg-boss schema, on one connection
   * set aside for it (`fn` itself runs on the rest of the pool). Several processes starting at once on an empty
   * database would otherwise race through pg-boss's schema creation and all but one crash ("pgboss already
   * exists"); under the lock the first creates the schema and the others find it done.
   */
  private async underStartLock<T>(fn: () => Promise<T>): Promise<T> {
    const key = `plugboard:pg-boss:${this.schema}`;
    return this.db.connection().execute(async (conn) => {
      await conn.executeQuery(CompiledQuery.raw('SELECT pg_advisory_lock(hashtext($1))', [key]));
      try {
        return await fn();
      } finally {
        await conn.executeQuery(CompiledQuery.raw('SELECT pg_advisory_unlock(hashtext($1))', [key]));
      }
    });
  }

  async open(): Promise<void> {
    await this.underStartLock(() => this.boss.start());
  }

  async close(): Promise<void> {
    // close: false — the pool belongs to the store, which closes it.
    await this.boss.stop({ graceful: false, close: false, wait: true });
  }

  async prepare(name: string, settings: QueueSettings): Promise<void> {
    const queue = {
      retryLimit: settings.maxAttempts - 1,
      retryDelay: 0,
      expireInSeconds: Math.max(1, Math.ceil(settings.leaseMs / 1000)),
      retentionSeconds: 14 * 24 * 3600,
      deleteAfterSeconds: 24 * 3600,
    };
    // Under the start lock too: two processes creating the same queue at once would otherwise both see it missing.
    await this.underStartLock(async () => {
      const existing = await this.boss.getQueue(name);
      if (existing) {
        if (existing.policy !== 'exclusive') {
          throw new Error(`pg-boss queue "${name}" exists with policy "${existing.policy}"; Plugboard needs "exclusive" (delete the queue)`);
        }
        await this.boss.updateQueue(name, queue);
      } else {
        await this.boss.createQueue(name, { ...queue, policy: 'exclusive' });
      }
    });
  }

  private toInsert(job: NewJob, id: string, carried: number): PgBoss.JobInsert<Envelope> {
    return {
      id,
      name: '',
      data: { d: job.data ?? null, a: carried, m: job.maxAttempts, g: job.groupKey, k: job.singletonKey ?? `job:${id}` },
      singletonKey: job.singletonKey ?? `job:${id}`,
      startAfter: job.runAt.toISOString(),
      // Crash retries (lease expiry) stay within the attempts left to this chain.
      retryLimit: Math.max(0, job.maxAttempts - carried - 1),
      retryDelay: 0,
    };
  }

  async insert(name: string, jobs: readonly NewJob[]): Promise<(string | null)[]> {
    const ids = jobs.map(() => randomUUID());
    const rows = jobs.map((job, i) => ({ ...this.toInsert(job, ids[i] as string, 0), name }));
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await this.boss.insert(name, rows.slice(i, i + INSERT_CHUNK));
    }
    // pg-boss's batch insert does not report which rows a singleton conflict skipped: look the ids up.
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      const chunk = ids.slice(i, i + INSERT_CHUNK);
      const result = await this.db.executeQuery<{ id: string }>(
        CompiledQuery.raw(`SELECT id::text AS id FROM ${this.schema}.job WHERE name = $1 AND id = ANY($2::uuid[])`, [name, chunk]),
      );
      for (const row of result.rows) found.add(row.id);
    }
    return ids.map((id) => (found.has(id) ? id : null));
  }

  async claim(name: string, limit: number): Promise<ClaimedJob[]> {
    const jobs = await this.boss.fetch<Envelope>(name, { batchSize: limit, includeMetadata: true });
    return jobs.map((job) => {
      const envelope = job.data;
      return {
        id: job.id,
        name,
        data: envelope.d,
        attempt: envelope.a + job.retryCount + 1,
        maxAttempts: envelope.m,
        groupKey: envelope.g,
        token: { envelope } satisfies PgBossToken,
      };
    });
  }

  /** Completions are sent to pg-boss in batches per job name (one statement for up to 200 jobs). */
  complete(job: ClaimedJob): Promise<void> {
    let batcher = this.completions.get(job.name);
    if (batcher === undefined) {
      const name = job.name;
      batcher = new WriteBatcher<string>(async (ids) => {
        await this.boss.complete(name, ids);
      }, { max: 200, delayMs: 5 });
      this.completions.set(name, batcher);
    }
    return batcher.add(job.id);
  }

  /** Completes the running job and inserts its successor atomically. */
  private async reschedule(job: ClaimedJob, delayMs: number, carried: number, reason: string | null): Promise<void> {
    const { envelope } = job.token as PgBossToken;
    await this.db.transaction().execute(async (trx) => {
      const db = adapter(trx);
      // The typings say void; pg-boss 11 returns { jobs, requested, affected }.
      const done = (await this.boss.complete(job.name, job.id, reason === null ? { released: true } : { retry: reason }, { db })) as unknown as { affected: number };
      // Not active any more (lease lost to another runner): the new owner decides.
      if (done.affected !== 1) return;
      const next: NewJob = {
        data: envelope.d,
        groupKey: envelope.g,
        singletonKey: envelope.k,
        runAt: new Date(Date.now() + delayMs),
        maxAttempts: envelope.m,
      };
      const successor = this.toInsert(next, randomUUID(), carried);
      successor.data = { ...envelope, a: carried };
      await this.boss.insert(job.name, [{ ...successor, name: job.name }], { db });
    });
  }

  async retry(job: ClaimedJob, delayMs: number, reason: string): Promise<void> {
    await this.reschedule(job, delayMs, job.attempt, reason);
  }

  async fail(job: ClaimedJob, reason: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // pg-boss retries a failed job while retry_count < retry_limit; a fatal failure must not be retried.
      await trx.executeQuery(
        CompiledQuery.raw(`UPDATE ${this.schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2::uuid AND state = 'active'`, [job.name, job.id]),
      );
      await this.boss.fail(job.name, job.id, { reason }, { db: adapter(trx) });
    });
  }

  async release(job: ClaimedJob): Promise<void> {
    await this.reschedule(job, 0, job.attempt - 1, null);
  }

  /** pg-boss 11 has no lease renewal: a job runs within its queue's expireInSeconds or is retried. */
  async extendLeases(): Promise<void> {}

  async counts(name: string): Promise<JobCounts> {
    const result = await this.db.executeQuery<{ state: string; n: string }>(
      CompiledQuery.raw(`SELECT state::text AS state, count(*)::text AS n FROM ${this.schema}.job WHERE name = $1 GROUP BY state`, [name]),
    );
    const counts: JobCounts = { queued: 0, active: 0, failed: 0 };
    for (const row of result.rows) {
      const n = Number(row.n);
      if (row.state === 'created' || row.state === 'retry') counts.queued += n;
      else if (row.state === 'active') counts.active += n;
      else if (row.state === 'failed') counts.failed += n;
    }
    return counts;
  }
}

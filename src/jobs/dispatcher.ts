/**
 * The part of the job runner both backends share: per job name, claim jobs in batches up to the concurrency limit,
 * hold back jobs whose group (provider) is at its limit, run handlers, turn their outcome into complete / retry /
 * fail, keep leases alive while handlers run, and stop gracefully. The backend (`JobStorage`) only moves rows; the
 * retry policy lives here so SQLite and pg-boss retry on the same schedule.
 */
import { randomUUID } from 'node:crypto';
import { backoffDelayMs } from './backoff.ts';
import { endsWithin } from '../core/deadline.ts';
import {
  JOB_DEFAULTS,
  JOB_NAME_PATTERN,
  JobFatalError,
  JobRetryError,
  type EnqueueItem,
  type EnqueueOptions,
  type JobContext,
  type JobCounts,
  type JobDefinitionOptions,
  type JobHandler,
  type JobQueue,
  type StopOptions,
} from './types.ts';

/** A job a runner holds a lease on. `token` is backend-private (lease owner and attempt, or pg-boss metadata). */
export interface ClaimedJob {
  id: string;
  name: string;
  data: unknown;
  attempt: number;
  maxAttempts: number;
  groupKey: string | null;
  token: unknown;
}

export interface NewJob {
  data: unknown;
  groupKey: string | null;
  singletonKey: string | null;
  runAt: Date;
  maxAttempts: number;
}

export interface QueueSettings {
  maxAttempts: number;
  leaseMs: number;
}

/** What a backend provides: durable rows and atomic state changes. Every method may be called concurrently. */
export interface JobStorage {
  readonly backend: 'sqlite' | 'pg-boss';
  /** Readies the storage for a job name (pg-boss: create the queue). Called once per define, before start. */
  prepare(name: string, settings: QueueSettings): Promise<void>;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Inserts jobs; returns the new ids in order, null where a singleton key was already taken. */
  insert(name: string, jobs: readonly NewJob[]): Promise<(string | null)[]>;
  /** Claims up to `limit` runnable jobs, skipping the groups in `fullGroups` where the backend can. */
  claim(name: string, limit: number, fullGroups: readonly string[], leaseMs: number): Promise<ClaimedJob[]>;
  complete(job: ClaimedJob): Promise<void>;
  retry(job: ClaimedJob, delayMs: number, reason: string): Promise<void>;
  fail(job: ClaimedJob, reason: string): Promise<void>;
  /** Hands a claimed job back untouched (runner stopping): runnable again at once, the attempt not counted. */
  release(job: ClaimedJob): Promise<void>;
  extendLeases(jobs: readonly ClaimedJob[], leaseMs: number): Promise<void>;
  counts(name: string): Promise<JobCounts>;
}

export interface JobLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DispatcherOptions {
  storage: JobStorage;
  log?: JobLogger;
  leaseMs?: number;
  pollIntervalMs?: number;
}

interface Definition {
  name: string;
  handler: JobHandler<unknown>;
  concurrency: number;
  maxAttempts: number;
  backoff: { baseMs?: number; maxMs?: number };
  groupKey?: (data: unknown) => string;
  groupLimit: number;
}

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
  released: boolean;
}

const REASON_MAX_LENGTH = 500;

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return message.length > REASON_MAX_LENGTH ? `${message.slice(0, REASON_MAX_LENGTH - 1)}…` : message;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/** One worker per job name: its own concurrency, group counters and claim loop. */
class Worker {
  readonly def: Definition;
  readonly running = new Map<string, Running>();
  readonly groupRunning = new Map<string, number>();
  waiting: ClaimedJob[] = [];
  private pumping = false;
  private pumpAgain = false;
  private stopping = false;
  private readonly storage: JobStorage;
  private readonly log: JobLogger | undefined;
  private readonly leaseMs: number;

  constructor(def: Definition, storage: JobStorage, leaseMs: number, log: JobLogger | undefined) {
    this.def = def;
    this.storage = storage;
    this.leaseMs = leaseMs;
    this.log = log;
  }

  private groupHasRoom(groupKey: string | null): boolean {
    if (groupKey === null) return true;
    return (this.groupRunning.get(groupKey) ?? 0) < this.def.groupLimit;
  }

  private fullGroups(): string[] {
    const full: string[] = [];
    for (const [key, count] of this.groupRunning) if (count >= this.def.groupLimit) full.push(key);
    return full;
  }

  /** Starts held-back jobs whose group has room again, then claims more while there is room. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        if (this.stopping) break;
        this.startWaiting();
        const free = this.def.concurrency - this.running.size;
        // Held-back jobs count against the claim so a saturated group cannot pull the whole queue into memory.
        const room = 2 * this.def.concurrency - this.running.size - this.waiting.length;
        const limit = Math.min(free, room);
        if (limit <= 0) break;
        const jobs = await this.storage.claim(this.def.name, limit, this.fullGroups(), this.leaseMs);
        for (const job of jobs) {
          if (this.stopping) {
            this.waiting.push(job);
          } else if (this.running.size < this.def.concurrency && this.groupHasRoom(job.groupKey)) {
            this.run(job);
          } else {
            this.waiting.push(job);
          }
        }
        if (jobs.length === limit) this.pumpAgain = true;
      } while (this.pumpAgain && !this.stopping);
    } catch (error) {
      this.log?.error({ job: this.def.name, err: reasonOf(error) }, 'job claim failed; retrying at the next poll');
    } finally {
      this.pumping = false;
    }
  }

  private startWaiting(): void {
    if (this.waiting.length === 0) return;
    const still: ClaimedJob[] = [];
    for (const job of this.waiting) {
      if (this.running.size < this.def.concurrency && this.groupHasRoom(job.groupKey)) this.run(job);
      else still.push(job);
    }
    this.waiting = still;
  }

  private run(job: ClaimedJob): void {
    const controller = new AbortController();
    if (job.groupKey !== null) this.groupRunning.set(job.groupKey, (this.groupRunning.get(job.groupKey) ?? 0) + 1);
    const context: JobContext = {
      jobId: job.id,
      name: job.name,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      isLastAttempt: job.attempt >= job.maxAttempts,
      signal: controller.signal,
    };
    const entry: Running = { job, controller, released: false, done: Promise.resolve() };
    entry.done = this.execute(entry, context).finally(() => {
      this.running.delete(job.id);
      if (job.groupKey !== null) {
        const left = (this.groupRunning.get(job.groupKey) ?? 1) - 1;
        if (left <= 0) this.groupRunning.delete(job.groupKey);
        else this.groupRunning.set(job.groupKey, left);
      }
      if (!this.stopping) void this.pump();
    });
    this.running.set(job.id, entry);
  }

  private async execute(entry: Running, context: JobContext): Promise<void> {
    const { job } = entry;
    let outcome: { kind: 'complete' } | { kind: 'retry'; delayMs: number; reason: string } | { kind: 'fail'; reason: string };
    try {
      await this.def.handler(job.data, context);
      outcome = { kind: 'complete' };
    } catch (error) {
      const reason = reasonOf(error);
      if (error instanceof JobFatalError || job.attempt >= job.maxAttempts) {
        outcome = { kind: 'fail', reason };
      } else if (error instanceof JobRetryError && error.delayMs !== undefined) {
        outcome = { kind: 'retry', delayMs: Math.max(0, error.delayMs), reason };
      } else {
        outcome = { kind: 'retry', delayMs: backoffDelayMs(job.attempt, this.def.backoff), reason };
      }
    }
    // A job handed back during stop belongs to the next runner now; its late outcome must not overwrite that.
    if (entry.released) return;
    try {
      if (outcome.kind === 'complete') await this.storage.complete(job);
      else if (outcome.kind === 'retry') await this.storage.retry(job, outcome.delayMs, outcome.reason);
      else {
        await this.storage.fail(job, outcome.reason);
        this.log?.warn({ job: job.name, jobId: job.id, attempt: job.attempt, reason: outcome.reason }, 'job failed for good');
      }
    } catch (error) {
      // The lease will expire and the job run again: at-least-once, never lost.
      this.log?.error({ job: job.name, jobId: job.id, err: reasonOf(error) }, 'could not record a job outcome');
    }
  }

  held(): ClaimedJob[] {
    return [...[...this.running.values()].map((r) => r.job), ...this.waiting];
  }

  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    const waiting = this.waiting;
    this.waiting = [];
    await Promise.all(waiting.map((job) => this.storage.release(job).catch(() => undefined)));
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    if (await endsWithin(all, deadline - Date.now())) return;
    for (const entry of this.running.values()) {
      entry.released = true;
      entry.controller.abort(new Error('job runner stopping'));
      await this.storage.release(entry.job).catch(() => undefined);
    }
  }
}

/** The JobQueue both backends expose; only the storage differs. */
export class Dispatcher implements JobQueue {
  readonly backend: 'sqlite' | 'pg-boss';
  private readonly storage: JobStorage;
  private readonly log: JobLogger | undefined;
  private readonly leaseMs: number;
  private readonly pollIntervalMs: number;
  private readonly workers = new Map<string, Worker>();
  /** Opening the storage, started by the first enqueue or start(); prepares every job name defined so far. */
  private opened: Promise<void> | undefined;
  private readonly prepared = new Map<string, Promise<void>>();
  private state: 'created' | 'started' | 'stopped' = 'created';
  private pollTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  readonly runnerId = randomUUID();

  constructor(options: DispatcherOptions) {
    this.storage = options.storage;
    this.backend = options.storage.backend;
    this.log = options.log;
    this.leaseMs = positiveInteger(options.leaseMs, JOB_DEFAULTS.leaseMs, 'leaseMs');
    this.pollIntervalMs = positiveInteger(options.pollIntervalMs, JOB_DEFAULTS.pollIntervalMs, 'pollIntervalMs');
  }

  define<T>(name: string, handler: JobHandler<T>, options: JobDefinitionOptions<T> = {}): void {
    if (!JOB_NAME_PATTERN.test(name)) {
      throw new TypeError(`job name "${name}" must match ${JOB_NAME_PATTERN} (lower case letters, digits, . _ -)`);
    }
    if (this.workers.has(name)) throw new TypeError(`job "${name}" is already defined`);
    if (this.state === 'stopped') throw new TypeError(`job "${name}" defined after the queue stopped`);
    const group = options.groupConcurrency;
    const def: Definition = {
      name,
      handler: handler as JobHandler<unknown>,
      concurrency: positiveInteger(options.concurrency, JOB_DEFAULTS.concurrency, `job "${name}" concurrency`),
      maxAttempts: positiveInteger(options.maxAttempts, JOB_DEFAULTS.maxAttempts, `job "${name}" maxAttempts`),
      backoff: options.backoff ?? {},
      groupLimit: group ? positiveInteger(group.limit, 1, `job "${name}" groupConcurrency.limit`) : Number.POSITIVE_INFINITY,
    };
    if (group) def.groupKey = group.key as (data: unknown) => string;
    this.workers.set(name, new Worker(def, this.storage, this.leaseMs, this.log));
    if (this.opened) this.prepare(def, this.opened);
  }

  private prepare(def: Definition, opened: Promise<void>): Promise<void> {
    const prepared = opened.then(() => this.storage.prepare(def.name, { maxAttempts: def.maxAttempts, leaseMs: this.leaseMs }))
      .catch((error: unknown) => {
        throw new Error(`could not prepare job "${def.name}": ${reasonOf(error)}`);
      });
    // Observed here so a failure surfaces at enqueue/start, not as an unhandled rejection.
    prepared.catch(() => undefined);
    this.prepared.set(def.name, prepared);
    return prepared;
  }

  private async ready(name?: string): Promise<void> {
    if (!this.opened) {
      const opened = this.storage.open();
      this.opened = opened;
      for (const worker of this.workers.values()) this.prepare(worker.def, opened);
    }
    await this.opened;
    if (name !== undefined) await this.prepared.get(name);
    else await Promise.all(this.prepared.values());
  }

  private definition(name: string): Definition {
    const worker = this.workers.get(name);
    if (!worker) throw new TypeError(`job "${name}" is not defined; call define("${name}", handler) first`);
    return worker.def;
  }

  private toNewJob(def: Definition, data: unknown, options: EnqueueOptions = {}): NewJob {
    const startAfter = options.startAfter;
    const runAt = startAfter instanceof Date ? startAfter : new Date(Date.now() + (startAfter ?? 0));
    if (Number.isNaN(runAt.getTime())) throw new TypeError(`job "${def.name}": startAfter is not a valid time`);
    return {
      data,
      groupKey: def.groupKey ? def.groupKey(data) : null,
      singletonKey: options.singletonKey ?? null,
      runAt,
      maxAttempts: positiveInteger(options.maxAttempts, def.maxAttempts, `job "${def.name}" maxAttempts`),
    };
  }

  async enqueue<T>(name: string, data: T, options?: EnqueueOptions): Promise<string | null> {
    const def = this.definition(name);
    if (this.state === 'stopped') throw new TypeError(`job "${name}" enqueued after the queue stopped`);
    await this.ready(name);
    const [id] = await this.storage.insert(name, [this.toNewJob(def, data, options)]);
    this.wake(name);
    return id ?? null;
  }

  async enqueueMany<T>(name: string, items: readonly EnqueueItem<T>[]): Promise<number> {
    const def = this.definition(name);
    if (this.state === 'stopped') throw new TypeError(`job "${name}" enqueued after the queue stopped`);
    if (items.length === 0) return 0;
    await this.ready(name);
    const ids = await this.storage.insert(name, items.map((item) => this.toNewJob(def, item.data, item.options)));
    this.wake(name);
    return ids.filter((id) => id !== null).length;
  }

  private wake(name: string): void {
    if (this.state !== 'started') return;
    void this.workers.get(name)?.pump();
  }

  async start(): Promise<void> {
    if (this.state !== 'created') throw new TypeError(`the job queue cannot start twice (state: ${this.state})`);
    await this.ready();
    this.state = 'started';
    const pumpAll = (): void => {
      for (const worker of this.workers.values()) void worker.pump();
    };
    this.pollTimer = setInterval(pumpAll, this.pollIntervalMs);
    // Renew leases well before they run out, so a slow handler is not mistaken for a dead runner.
    this.leaseTimer = setInterval(() => {
      const held = [...this.workers.values()].flatMap((w) => w.held());
      if (held.length > 0) {
        this.storage.extendLeases(held, this.leaseMs).catch((error: unknown) => {
          this.log?.error({ err: reasonOf(error) }, 'could not extend job leases');
        });
      }
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    pumpAll();
  }

  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state === 'started';
    this.state = 'stopped';
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (wasStarted) {
      const deadline = Date.now() + (options.timeoutMs ?? JOB_DEFAULTS.stopTimeoutMs);
      await Promise.all([...this.workers.values()].map((w) => w.stop(deadline)));
    }
    if (this.opened) {
      await Promise.allSettled([this.opened, ...this.prepared.values()]);
      await this.storage.close();
    }
  }

  async counts(name: string): Promise<JobCounts> {
    this.definition(name);
    await this.ready(name);
    return this.storage.counts(name);
  }
}

/**
 * The one job interface of Plugboard. Revocations, erasure fan-out and other background work are jobs defined once by
 * name and enqueued with JSON data; the same contract is implemented by an in-process runner persisted in SQLite
 * (`sqlite/runner.ts`) and by pg-boss on PostgreSQL (`postgres/pgBossQueue.ts`). Delivery is at least once: a handler
 * must be idempotent. A handler tells the runner what to do next by throwing: `JobRetryError` with `delayMs` (the
 * provider said Retry-After), `JobRetryError` without it (retry with exponential backoff and jitter), `JobFatalError`
 * (fail for good, no further attempts); any other error is retried with backoff until the attempts run out.
 */

/** What a handler learns about the run it is in. */
export interface JobContext {
  /** The job id (stable across attempts on SQLite; on PostgreSQL a Retry-After reschedule gets a new id). */
  readonly jobId: string;
  readonly name: string;
  /** 1 for the first run; counts runs cut short by a crash too. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** True when a failure of this run will not be retried. */
  readonly isLastAttempt: boolean;
  /** Aborted when the runner stops and the grace period is over; long handlers should pass it to their I/O. */
  readonly signal: AbortSignal;
}

export type JobHandler<T> = (data: T, context: JobContext) => Promise<void>;

export interface BackoffOptions {
  /** Delay before the second attempt, in ms; doubled for each later attempt. Default 1000. */
  baseMs?: number;
  /** Upper bound of one delay, in ms. Default 300000 (5 min). */
  maxMs?: number;
}

export interface GroupConcurrency<T> {
  /** The group a job belongs to (for revocations: the provider), computed once at enqueue time. */
  key: (data: T) => string;
  /** How many jobs of one group may run at the same time. */
  limit: number;
}

export interface JobDefinitionOptions<T> {
  /** Jobs of this name run at most this many at a time in one process. Default 10. */
  concurrency?: number;
  /** Runs per job before it fails for good. Default 5. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  groupConcurrency?: GroupConcurrency<T>;
}

export interface EnqueueOptions {
  /** At most one unfinished (queued or running) job per name and key: enqueueing another is a no-op returning null. */
  singletonKey?: string;
  /** Do not start before this time (Date) or this many ms from now (number). */
  startAfter?: Date | number;
  /** Overrides the definition's maxAttempts for this job. */
  maxAttempts?: number;
}

export interface EnqueueItem<T> {
  data: T;
  options?: EnqueueOptions;
}

export interface StopOptions {
  /** How long running handlers get to finish before they are aborted and their jobs handed back. Default 10000. */
  timeoutMs?: number;
}

export interface JobQueue {
  readonly backend: 'sqlite' | 'pg-boss';
  define<T>(name: string, handler: JobHandler<T>, options?: JobDefinitionOptions<T>): void;
  /** Returns the job id, or null when a job with the same singletonKey is unfinished. */
  enqueue<T>(name: string, data: T, options?: EnqueueOptions): Promise<string | null>;
  /** Enqueues many jobs in few statements; duplicates by singletonKey are skipped. Returns how many were inserted. */
  enqueueMany<T>(name: string, items: readonly EnqueueItem<T>[]): Promise<number>;
  start(): Promise<void>;
  stop(options?: StopOptions): Promise<void>;
  /** Counts of this name's jobs by state, for progress reports and tests. */
  counts(name: string): Promise<JobCounts>;
}

export interface JobCounts {
  queued: number;
  active: number;
  failed: number;
}

/**
 * Thrown by a handler to ask for another attempt. With `delayMs` (a provider's Retry-After) the next attempt waits
 * exactly that long; without it the runner applies exponential backoff with jitter.
 */
export class JobRetryError extends Error {
  readonly delayMs: number | undefined;
  constructor(message: string, delayMs?: number) {
    super(message);
    this.name = 'JobRetryError';
    this.delayMs = delayMs;
  }
}

/** Thrown by a handler when retrying cannot help (bad data, a definitive refusal): the job fails at once. */
export class JobFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobFatalError';
  }
}

export const JOB_DEFAULTS = {
  concurrency: 10,
  maxAttempts: 5,
  backoffBaseMs: 1000,
  backoffMaxMs: 300_000,
  leaseMs: 300_000,
  pollIntervalMs: 500,
  stopTimeoutMs: 10_000,
} as const;

/** A job name becomes a queue name on PostgreSQL: keep it to a safe, portable alphabet. */
export const JOB_NAME_PATTERN = /^[a-z][a-z0-9._-]{0,62}$/;

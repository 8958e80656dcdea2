/**
 * Entry point of the job system: `createJobQueue(store)` picks the backend from the store dialect (the embedded
 * SQLite runner, or pg-boss on PostgreSQL) and returns the one `JobQueue` interface. Define every job name before
 * `start()`; the app context starts the queue with the server and stops it gracefully on shutdown.
 */
import type { Kysely } from 'kysely';
import { Dispatcher, type JobLogger } from './dispatcher.ts';
import { PgBossJobStorage } from './postgres/pgBossStorage.ts';
import { SqliteJobStorage } from './sqlite/storage.ts';
import type { JobQueue } from './types.ts';

export * from './types.ts';
export { backoffDelayMs, parseRetryAfter } from './backoff.ts';
export type { JobLogger } from './dispatcher.ts';

export interface CreateJobQueueOptions {
  store: { db: Kysely<any>; dialect: 'sqlite' | 'postgres' };
  log?: JobLogger;
  /** How long a claimed job stays owned without renewal; a dead runner's jobs run again after it. Default 5 min. */
  leaseMs?: number;
  /** How often idle workers look for due jobs. Default 500 ms. */
  pollIntervalMs?: number;
  /** PostgreSQL only: the schema pg-boss installs itself in. Default `pgboss`. */
  pgBossSchema?: string;
  /** PostgreSQL only: how often pg-boss looks for expired leases, in seconds. Default 30. */
  superviseIntervalSeconds?: number;
}

/** Reads an optional positive integer setting from the environment; a bad value is an error naming the variable. */
function fromEnvironment(name: string, min: number): number | undefined {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new TypeError(`${name} must be an integer of at least ${min}, got "${raw}"`);
  return value;
}

/**
 * Builds the queue for a store. Unset options fall back to `PLUGBOARD_JOB_LEASE_MS` and
 * `PLUGBOARD_JOB_SUPERVISE_SECONDS` (operators tune crash recovery time with them), then to the defaults.
 */
export function createJobQueue(options: CreateJobQueueOptions): JobQueue {
  const { store } = options;
  const leaseMs = options.leaseMs ?? fromEnvironment('PLUGBOARD_JOB_LEASE_MS', 1000);
  const superviseIntervalSeconds = options.superviseIntervalSeconds ?? fromEnvironment('PLUGBOARD_JOB_SUPERVISE_SECONDS', 1);
  const storage =
    store.dialect === 'postgres'
      ? new PgBossJobStorage({
          db: store.db,
          ...(options.pgBossSchema !== undefined ? { schema: options.pgBossSchema } : {}),
          ...(superviseIntervalSeconds !== undefined ? { superviseIntervalSeconds } : {}),
        })
      : new SqliteJobStorage(store.db);
  return new Dispatcher({
    storage,
    ...(options.log !== undefined ? { log: options.log } : {}),
    ...(leaseMs !== undefined ? { leaseMs } : {}),
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });
}

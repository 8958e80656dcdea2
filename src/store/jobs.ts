/**
 * The `jobs` table of the embedded job runner (SQLite). On PostgreSQL jobs live in pg-boss's own schema instead, so
 * this table exists only in SQLite stores. Columns follow the portable conventions: text ids, ISO-8601 UTC text
 * timestamps, JSON as text.
 */

export type JobState = 'queued' | 'active' | 'failed';

export interface JobsTable {
  id: string;
  name: string;
  /** The job data as JSON text. */
  data: string;
  state: JobState;
  /** Concurrency group (the provider for revocations), fixed at enqueue time. */
  group_key: string | null;
  /** At most one queued or active job per name and key. */
  singleton_key: string | null;
  /** Runs started so far, including runs cut short by a crash. */
  attempts: number;
  max_attempts: number;
  /** Not runnable before this time. */
  run_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobsDatabase {
  jobs: JobsTable;
}

/**
 * What Plugboard knows about each connection's use (table `connection_health`, migration 0007): when the proxy last
 * called through it, when the health checker last checked it and with what outcome, and the reason it was disabled
 * after repeated refresh failures. The proxy's "last used" write is throttled per connection in memory, so a hot
 * connection costs one small write a minute, not one per call; the health checker only needs minute precision.
 */

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Logger } from '../log.ts';

export interface ConnectionHealthTable {
  connection_id: string;
  org_id: string;
  last_used_at: string | null;
  last_checked_at: string | null;
  last_check_ok: number | null;
  last_check_message: string | null;
  disabled_reason: string | null;
  updated_at: string;
}

// A type alias (not an interface) so Kysely's withTables accepts it.
export type ConnectionHealthDatabase = { connection_health: ConnectionHealthTable };
export type HealthDb = Kysely<Database & ConnectionHealthDatabase>;

export function healthDb(db: Kysely<Database>): HealthDb {
  return db.withTables<ConnectionHealthDatabase>();
}

type HealthPatch = Partial<Omit<ConnectionHealthTable, 'connection_id' | 'org_id' | 'updated_at'>>;

/** Upserts the health row of one connection. */
export async function updateHealth(db: Kysely<Database>, orgId: string, connectionId: string, patch: HealthPatch, now = new Date().toISOString()): Promise<void> {
  await healthDb(db)
    .insertInto('connection_health')
    .values({
      connection_id: connectionId,
      org_id: orgId,
      last_used_at: patch.last_used_at ?? null,
      last_checked_at: patch.last_checked_at ?? null,
      last_check_ok: patch.last_check_ok ?? null,
      last_check_message: patch.last_check_message ?? null,
      disabled_reason: patch.disabled_reason ?? null,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('connection_id').doUpdateSet({ ...patch, updated_at: now }))
    .execute();
}

export async function getHealth(db: Kysely<Database>, orgId: string, connectionId: string): Promise<ConnectionHealthTable | null> {
  const row = await healthDb(db).selectFrom('connection_health').selectAll().where('org_id', '=', orgId).where('connection_id', '=', connectionId).executeTakeFirst();
  return row ?? null;
}

/** How often one process records a use of one connection. */
export const USAGE_WRITE_INTERVAL_MS = 60_000;

/** Records proxy use, at most once per connection per interval per process; failures never fail the call. */
export class UsageRecorder {
  readonly #lastWrite = new Map<string, number>();
  readonly #intervalMs: number;

  constructor(intervalMs = USAGE_WRITE_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** Returns the pending write (tests await it); callers may ignore it. A failed write is logged as a warning. */
  touch(db: Kysely<Database>, orgId: string, connectionId: string, log: Pick<Logger, 'warn'>, now = Date.now()): Promise<void> | null {
    const last = this.#lastWrite.get(connectionId);
    if (last !== undefined && now - last < this.#intervalMs) return null;
    this.#lastWrite.set(connectionId, now);
    if (this.#lastWrite.size > 100_000) this.#lastWrite.clear();
    return updateHealth(db, orgId, connectionId, { last_used_at: new Date(now).toISOString() }).catch((err: unknown) => {
      log.warn({ err, instanceId: connectionId }, 'could not record connection use');
    });
  }
}

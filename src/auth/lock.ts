/**
 * One holder at a time per connection, within a process and across processes sharing a store. Rotating refresh
 * tokens die on reuse (RFC 9700 §4.14.2), so two refreshes of one connection racing would kill its grant; a refresh
 * and a revocation overlapping would revoke a token that is already replaced. Callers: token refresh
 * (`getFreshAccessToken`), revocation and the proxy's refresh-and-retry.
 *
 * How: an in-process queue per connection, then a lease on the connection row (`lease_owner`, `lease_until`) taken
 * with one conditional UPDATE, which both SQLite and PostgreSQL execute atomically. A lease rather than a held
 * PostgreSQL advisory lock, because `fn` makes provider calls that can take seconds: holding a pooled connection for
 * that long per connection would let a burst of refreshes exhaust the pool that `fn` itself needs. A lease that
 * outlives a crashed holder expires after `LEASE_MS`; a holder whose `fn` runs longer than that extends it. Nested
 * calls for the same connection in the same async context run directly (no self-deadlock).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { PlugboardError } from '../core/errors.ts';

export const LEASE_MS = 30_000;
const DEFAULT_WAIT_MS = 20_000;
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 100;

export interface LockContext {
  store: { db: Kysely<Database> };
}

const queues = new Map<string, Promise<unknown>>();
const held = new AsyncLocalStorage<Set<string>>();
/** Identifies this process's leases, so a release never frees a lease another process took after ours expired. */
const processTag = randomBytes(6).toString('hex');

async function tryLease(db: Kysely<Database>, orgId: string, instanceId: string, owner: string): Promise<'taken' | 'busy' | 'missing'> {
  const now = new Date();
  const result = await db.updateTable('connections')
    .set({ lease_owner: owner, lease_until: new Date(now.getTime() + LEASE_MS).toISOString() })
    .where('org_id', '=', orgId).where('id', '=', instanceId)
    .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<', now.toISOString())]))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 1) return 'taken';
  const exists = await db.selectFrom('connections').select('id').where('org_id', '=', orgId).where('id', '=', instanceId).executeTakeFirst();
  return exists === undefined ? 'missing' : 'busy';
}

async function releaseLease(db: Kysely<Database>, orgId: string, instanceId: string, owner: string): Promise<void> {
  await db.updateTable('connections').set({ lease_owner: null, lease_until: null })
    .where('org_id', '=', orgId).where('id', '=', instanceId).where('lease_owner', '=', owner).execute();
}

async function acquireLease(db: Kysely<Database>, orgId: string, instanceId: string, owner: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  let pause = POLL_MIN_MS;
  for (;;) {
    const outcome = await tryLease(db, orgId, instanceId, owner);
    if (outcome === 'taken') return true;
    if (outcome === 'missing') return false;
    if (Date.now() >= deadline) {
      throw new PlugboardError('CONFLICT', `Instance ${instanceId} is busy (a token refresh or revocation is running elsewhere); retry shortly.`, { headers: { 'retry-after': '1' } });
    }
    // Jittered backoff so processes waiting on one lease do not poll in lock step.
    await new Promise((resolve) => setTimeout(resolve, pause + Math.floor(Math.random() * pause)));
    pause = Math.min(POLL_MAX_MS, pause * 2);
  }
}

/**
 * Runs `fn` while holding the connection's lock. When the connection does not exist (deleted meanwhile), `fn` still
 * runs under the in-process queue and sees the deletion itself when it reads the row.
 */
export async function withConnectionLock<T>(ctx: LockContext, orgId: string, instanceId: string, fn: () => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
  const key = `${orgId}/${instanceId}`;
  const mine = held.getStore();
  if (mine?.has(key)) return fn();

  const previous = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const turn = new Promise<void>((resolve) => { release = resolve; });
  const tail = previous.then(() => turn);
  queues.set(key, tail);
  await previous;
  const owner = `${processTag}:${randomBytes(6).toString('hex')}`;
  let leased = false;
  let renew: NodeJS.Timeout | undefined;
  try {
    leased = await acquireLease(ctx.store.db, orgId, instanceId, owner, options.waitMs ?? DEFAULT_WAIT_MS);
    if (leased) {
      renew = setInterval(() => {
        ctx.store.db.updateTable('connections').set({ lease_until: new Date(Date.now() + LEASE_MS).toISOString() })
          .where('org_id', '=', orgId).where('id', '=', instanceId).where('lease_owner', '=', owner).execute()
          .catch(() => undefined);
      }, LEASE_MS / 3);
      renew.unref();
    }
    const set = new Set(mine ?? []);
    set.add(key);
    return await held.run(set, fn);
  } finally {
    clearInterval(renew);
    try {
      if (leased) await releaseLease(ctx.store.db, orgId, instanceId, owner);
    } finally {
      release();
      if (queues.get(key) === tail) queues.delete(key);
    }
  }
}

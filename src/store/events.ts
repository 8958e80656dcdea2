/**
 * The events repository: an append-only, tenant-scoped log of what happened to connections (created,
 * re-authenticated, invalidated, revoked, deleted, credentials read, ...). `GET /events` and webhooks read it; any
 * area records into it with `recordEvent`. Event data is for people and integrations, so it must never hold a secret:
 * `recordEvent` refuses keys that name one (token, secret, password, code, key) rather than trusting every caller.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { newId } from '../crypto/random.ts';

export interface EventTable {
  id: string;
  org_id: string;
  instance_id: string | null;
  type: string;
  occurred_at: string;
  /** JSON object without secrets. */
  data: string;
}

export interface EventsTables {
  events: EventTable;
}

export interface EventInput {
  type: string;
  instanceId?: string | null;
  data?: Record<string, unknown>;
  /** Defaults to now. */
  occurredAt?: string;
}

export interface EventRecord {
  id: string;
  orgId: string;
  instanceId: string | null;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

const SECRET_KEY = /(token|secret|password|passwd|^code$|api_?key|authorization|verifier|credential)/i;

function assertNoSecretKeys(value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) throw new TypeError(`Event data may not carry secrets: the key ${path}${key} looks like one; record a non-secret fact instead`);
    assertNoSecretKeys(inner, `${path}${key}.`);
  }
}

export async function recordEvent(db: Kysely<Database>, orgId: string, event: EventInput): Promise<EventRecord> {
  const data = event.data ?? {};
  assertNoSecretKeys(data, '');
  const record: EventRecord = { id: newId(), orgId, instanceId: event.instanceId ?? null, type: event.type, occurredAt: event.occurredAt ?? new Date().toISOString(), data };
  await db.insertInto('events').values({ id: record.id, org_id: orgId, instance_id: record.instanceId, type: record.type, occurred_at: record.occurredAt, data: JSON.stringify(data) }).execute();
  return record;
}

export function eventFromRow(row: EventTable): EventRecord {
  return { id: row.id, orgId: row.org_id, instanceId: row.instance_id, type: row.type, occurredAt: row.occurred_at, data: JSON.parse(row.data) as Record<string, unknown> };
}

/** Events of one connection, newest first (the proxy area's `GET /events` adds filters and pagination). */
export async function eventsOfInstance(db: Kysely<Database>, orgId: string, instanceId: string, limit = 100): Promise<EventRecord[]> {
  const rows = await db.selectFrom('events').selectAll().where('org_id', '=', orgId).where('instance_id', '=', instanceId)
    .orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(eventFromRow);
}

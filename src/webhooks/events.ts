/**
 * Reading the events log (the connections area's `events` table): the filtered, paginated feed behind `GET /events`
 * and the ordered scan the webhook dispatcher uses as its outbox. Both order by (occurred_at, id), which is total
 * and stable under inserts. Event data is returned as recorded; `recordEvent` already refuses secret-looking keys.
 */

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { eventFromRow, type EventRecord } from '../store/events.ts';
import { decodeCursor, nextCursorOf } from '../store/cursor.ts';

export interface EventFilter {
  instanceId?: string | undefined;
  /** Any of these types. */
  types?: readonly string[] | undefined;
  /** Inclusive lower bound (ISO-8601). */
  from?: string | undefined;
  /** Exclusive upper bound (ISO-8601). */
  to?: string | undefined;
}

export interface EventPage {
  items: EventRecord[];
  nextCursor: string | null;
}

/** One organization's events, newest first. */
export async function listEvents(db: Kysely<Database>, orgId: string, filter: EventFilter, page: { limit: number; cursor?: string | undefined }): Promise<EventPage> {
  let query = db.selectFrom('events').selectAll().where('org_id', '=', orgId);
  if (filter.instanceId !== undefined) query = query.where('instance_id', '=', filter.instanceId);
  if (filter.types !== undefined && filter.types.length > 0) query = query.where('type', 'in', [...filter.types]);
  if (filter.from !== undefined) query = query.where('occurred_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('occurred_at', '<', filter.to);
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor);
    query = query.where((eb) => eb.or([eb('occurred_at', '<', after.time), eb.and([eb('occurred_at', '=', after.time), eb('id', '<', after.id)])]));
  }
  const rows = await query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const items = rows.slice(0, page.limit).map(eventFromRow);
  return { items, nextCursor: nextCursorOf(rows, page.limit, (row) => ({ time: row.occurred_at, id: row.id })) };
}

/**
 * Events of every organization after a position, oldest first, up to `before` (exclusive). This is the outbox scan:
 * the dispatcher is a system process serving all tenants, and each event it reads carries its own org_id, which
 * scopes every later step (webhook lookup, delivery rows).
 */
export async function eventsAfter(db: Kysely<Database>, after: { occurredAt: string; eventId: string } | null, before: string, limit: number): Promise<EventRecord[]> {
  let query = db.selectFrom('events').selectAll().where('occurred_at', '<', before);
  if (after !== null) {
    query = query.where((eb) => eb.or([eb('occurred_at', '>', after.occurredAt), eb.and([eb('occurred_at', '=', after.occurredAt), eb('id', '>', after.eventId)])]));
  }
  const rows = await query.orderBy('occurred_at', 'asc').orderBy('id', 'asc').limit(limit).execute();
  return rows.map(eventFromRow);
}

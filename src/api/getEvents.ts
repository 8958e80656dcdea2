/**
 * `GET /events`: the organization's lifecycle events (instance.created, instance.invalidated, instance.disabled,
 * instance.revoked, erasure.completed, ...), newest first, filtered by instance, type and time, with cursor
 * pagination. Events carry no secrets.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { listEvents } from '../webhooks/events.ts';

const IsoInstant = z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as 2026-01-31T12:00:00Z' });
const EventType = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'expected an event type such as instance.invalidated');

export const EventSchema = z.object({
  id: z.string(),
  type: z.string(),
  instanceId: z.string().nullable(),
  occurredAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});

export default defineRoute({
  method: 'GET',
  url: '/events',
  auth: 'org',
  permission: 'events:read',
  summary: 'List lifecycle events',
  tags: ['events'],
  schema: {
    querystring: z.strictObject({
      instanceId: z.string().min(1).optional(),
      type: z
        .string()
        .optional()
        .describe('One event type or several, comma separated')
        .transform((value, ctx) => {
          if (value === undefined) return undefined;
          const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
          for (const t of types) {
            const parsed = EventType.safeParse(t);
            if (!parsed.success) ctx.addIssue({ code: 'custom', message: `"${t}": expected an event type such as instance.invalidated` });
          }
          return types;
        }),
      from: IsoInstant.optional().describe('Inclusive lower bound of occurredAt'),
      to: IsoInstant.optional().describe('Exclusive upper bound of occurredAt'),
      limit: z.coerce.number({ error: 'expected a number from 1 to 200' }).int().min(1).max(200).default(50),
      cursor: z.string().min(1).optional(),
    }),
    response: { 200: z.object({ events: z.array(EventSchema), nextCursor: z.string().nullable() }) },
  },
  async handler(request) {
    const q = request.query;
    const toUtc = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
    const page = await listEvents(request.ctx.store.db, request.principal.orgId, { instanceId: q.instanceId, types: q.type, from: toUtc(q.from), to: toUtc(q.to) }, { limit: q.limit, cursor: q.cursor });
    return {
      events: page.items.map((e) => ({ id: e.id, type: e.type, instanceId: e.instanceId, occurredAt: e.occurredAt, data: e.data })),
      nextCursor: page.nextCursor,
    };
  },
});

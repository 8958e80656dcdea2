/**
 * Webhook delivery. The events table is the outbox: `scanOutbox` reads events after the stored cursor (oldest first,
 * only events older than a short settle time, so an event whose transaction commits a moment after its timestamp is
 * not skipped), writes one delivery row per subscribed webhook (unique per webhook and event, so concurrent scanners
 * in several processes create each delivery once) and enqueues a job per new row. The job signs the JSON body with
 * the webhook's secret (`Plugboard-Signature`, see signature.ts) and POSTs it; any 2xx is success, anything else is
 * retried with exponential backoff (or the receiver's Retry-After) until the attempts run out; 410 Gone stops at once.
 * Each attempt is written to the delivery log. Receivers must be idempotent: delivery is at least once, and
 * `Plugboard-Event-Id` lets them drop repeats.
 *
 * @see RFC 9110 §10.2.3 (Retry-After), RFC 9110 §15.5.11 (410 Gone)
 */

import type { AppContext } from '../context.ts';
import { PlugboardError, isPlugboardError } from '../core/errors.ts';
import { JobFatalError, JobRetryError, type JobContext } from '../jobs/types.ts';
import { backoffDelayMs, parseRetryAfter } from '../jobs/backoff.ts';
import { requestOutbound } from '../proxy/outbound.ts';
import type { TargetPolicy } from '../proxy/ssrf.ts';
import type { EventRecord } from '../store/events.ts';
import { eventsAfter } from './events.ts';
import { SIGNATURE_HEADER, signWebhookPayload } from './signature.ts';
import {
  advanceCursor,
  getDeliveryRow,
  getWebhook,
  insertDeliveries,
  openSigningSecret,
  readCursor,
  recordAttempt,
  webhookDb,
  webhooksFor,
  type NewDelivery,
  type Webhook,
  type WebhookDb,
} from './store.ts';

export const DELIVERY_JOB = 'webhook.deliver';
export const OUTBOX_CURSOR = 'webhooks';
export const TEST_EVENT_TYPE = 'webhook.test';

export interface DeliverySettings {
  policy: TargetPolicy;
  /** Per attempt: time to response headers and to the end of the body. */
  timeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Events younger than this are left for the next scan (late-committing transactions). */
  settleMs: number;
  batchSize: number;
}

export const DEFAULT_DELIVERY_SETTINGS: Omit<DeliverySettings, 'policy'> = {
  timeoutMs: 10_000,
  maxAttempts: 8,
  backoffBaseMs: 5_000,
  backoffMaxMs: 3_600_000,
  settleMs: 1_000,
  batchSize: 200,
};

export interface DeliveryJobData {
  orgId: string;
  deliveryId: string;
}

/** The JSON body a receiver gets: the event as `GET /events` shows it, plus the organization. */
export function webhookPayload(event: Pick<EventRecord, 'id' | 'type' | 'occurredAt' | 'instanceId' | 'data' | 'orgId'>): string {
  return JSON.stringify({ id: event.id, type: event.type, occurredAt: event.occurredAt, organizationId: event.orgId, instanceId: event.instanceId, data: event.data });
}

type Ctx = Pick<AppContext, 'store' | 'vault' | 'jobs' | 'log'>;

/** Scans the outbox once; returns how many events it consumed. */
export async function scanOutbox(ctx: Ctx, settings: DeliverySettings, now = Date.now()): Promise<number> {
  const db = webhookDb(ctx.store.db);
  const cursor = await readCursor(db, OUTBOX_CURSOR);
  const before = new Date(now - settings.settleMs).toISOString();
  const events = await eventsAfter(ctx.store.db, cursor, before, settings.batchSize);
  if (events.length === 0) return 0;
  const subscriptions = new Map<string, Webhook[]>();
  const jobs: DeliveryJobData[] = [];
  for (const event of events) {
    const key = `${event.orgId}\u0000${event.type}`;
    let hooks = subscriptions.get(key);
    if (hooks === undefined) {
      hooks = await webhooksFor(db, event.orgId, event.type);
      subscriptions.set(key, hooks);
    }
    // A webhook only hears about events that happened after it was created.
    const rows: NewDelivery[] = hooks
      .filter((h) => h.createdAt <= event.occurredAt)
      .map((h) => ({ webhookId: h.id, eventId: event.id, eventType: event.type, payload: webhookPayload(event) }));
    if (rows.length === 0) continue;
    for (const id of await insertDeliveries(db, event.orgId, rows)) jobs.push({ orgId: event.orgId, deliveryId: id });
  }
  if (jobs.length > 0) await ctx.jobs.enqueueMany(DELIVERY_JOB, jobs.map((data) => ({ data, options: { singletonKey: data.deliveryId } })));
  const last = events[events.length - 1];
  await advanceCursor(db, OUTBOX_CURSOR, { occurredAt: last.occurredAt, eventId: last.id });
  return events.length;
}

/** Creates and enqueues a test delivery for one webhook (`POST /webhooks/{id}/test`); returns the delivery id. */
export async function enqueueTestDelivery(ctx: Ctx, orgId: string, webhook: Webhook): Promise<string> {
  const db = webhookDb(ctx.store.db);
  const occurredAt = new Date().toISOString();
  const eventId = `test_${crypto.randomUUID()}`;
  const payload = webhookPayload({ id: eventId, type: TEST_EVENT_TYPE, occurredAt, orgId, instanceId: null, data: { webhookId: webhook.id, message: 'A test delivery from Plugboard.' } });
  const [deliveryId] = await insertDeliveries(db, orgId, [{ webhookId: webhook.id, eventId, eventType: TEST_EVENT_TYPE, payload }]);
  if (deliveryId === undefined) throw new PlugboardError('CONFLICT', 'The test delivery could not be created; try again.');
  await ctx.jobs.enqueue(DELIVERY_JOB, { orgId, deliveryId } satisfies DeliveryJobData, { singletonKey: deliveryId });
  return deliveryId;
}

function describeFailure(error: unknown): string {
  if (isPlugboardError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs one delivery attempt; throws JobRetryError / JobFatalError so the job queue schedules what comes next. */
export async function deliverOnce(ctx: Ctx, settings: DeliverySettings, data: DeliveryJobData, job: Pick<JobContext, 'attempt' | 'isLastAttempt' | 'signal'>): Promise<void> {
  const db: WebhookDb = webhookDb(ctx.store.db);
  const row = await getDeliveryRow(db, data.orgId, data.deliveryId);
  // Gone with its webhook (deleted), or already delivered by an earlier run of an at-least-once job.
  if (row === null || row.status === 'succeeded') return;
  const webhook = await getWebhook(db, data.orgId, row.webhook_id);
  const secret = await openSigningSecret(db, ctx.vault, data.orgId, row.webhook_id);
  if (webhook === null || secret === null) return;

  let statusCode: number | null = null;
  let failure: string;
  let retryAfterMs: number | undefined;
  let gone = false;
  try {
    const url = new URL(webhook.url);
    const res = await requestOutbound({
      url,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Plugboard-Webhooks/1',
        [SIGNATURE_HEADER]: signWebhookPayload(secret, row.payload),
        'plugboard-event-id': row.event_id,
        'plugboard-event-type': row.event_type,
        'plugboard-delivery-id': row.id,
        'plugboard-attempt': String(job.attempt),
      },
      body: row.payload,
      policy: settings.policy,
      maxRedirects: 0,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      signal: job.signal,
    });
    statusCode = res.statusCode;
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await recordAttempt(db, data.orgId, row.id, { status: 'succeeded', statusCode, error: null, nextAttemptAt: null });
      return;
    }
    failure = `the receiver answered HTTP ${res.statusCode}`;
    gone = res.statusCode === 410;
    const header = res.headers['retry-after'];
    retryAfterMs = parseRetryAfter(Array.isArray(header) ? header[0] : header);
  } catch (error) {
    failure = describeFailure(error);
    if (isPlugboardError(error) && error.code === 'TARGET_FORBIDDEN') gone = true;
  }

  const final = gone || job.isLastAttempt;
  const delay = retryAfterMs ?? backoffDelayMs(job.attempt, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs });
  await recordAttempt(db, data.orgId, row.id, {
    status: final ? 'failed' : 'pending',
    statusCode,
    error: failure,
    nextAttemptAt: final ? null : new Date(Date.now() + delay).toISOString(),
  });
  if (final) throw new JobFatalError(`Webhook delivery ${row.id} failed for good: ${failure}`);
  throw new JobRetryError(`Webhook delivery ${row.id} failed: ${failure}`, delay);
}

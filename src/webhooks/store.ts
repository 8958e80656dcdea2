/**
 * The webhook repository: organization webhooks, their delivery log and the outbox cursor (tables of migration 0007).
 * Every function takes the organization first; a webhook of another organization is simply not found. The signing
 * secret is stored only as a vault envelope bound to its row, opened at delivery time and never returned after
 * creation. Deliveries are unique per (webhook, event), which makes the outbox scan idempotent across processes.
 */

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Vault } from '../crypto/vault.ts';
import { newId } from '../crypto/random.ts';
import { generateSigningSecret } from './signature.ts';
import { ALL_EVENTS_WILDCARD } from '../core/events.ts';
import { decodeCursor, nextCursorOf } from '../store/cursor.ts';

export interface WebhookTable {
  id: string;
  org_id: string;
  url: string;
  description: string | null;
  /** JSON array of event types; `["*"]` means every type. */
  event_types: string;
  /** Vault envelope of the signing secret. */
  secret: string;
  enabled: number;
  created_at: string;
  updated_at: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveryTable {
  id: string;
  org_id: string;
  webhook_id: string;
  /** The event's id, or `test_<id>` for a test delivery. */
  event_id: string;
  event_type: string;
  /** The JSON body sent (no secrets: events carry none). */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

export interface WebhookCursorTable {
  name: string;
  occurred_at: string;
  event_id: string;
  updated_at: string;
}

// A type alias, not an interface: Kysely's withTables needs an index-compatible record type.
export type WebhooksDatabase = {
  webhooks: WebhookTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_cursor: WebhookCursorTable;
};

export type WebhookDb = Kysely<Database & WebhooksDatabase>;

export function webhookDb(db: Kysely<Database>): WebhookDb {
  return db.withTables<WebhooksDatabase>();
}

export interface Webhook {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

function toWebhook(row: WebhookTable): Webhook {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: JSON.parse(row.event_types) as string[],
    enabled: row.enabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toDelivery(row: WebhookDeliveryTable): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    lastAttemptAt: row.last_attempt_at,
    nextAttemptAt: row.next_attempt_at,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  };
}

const secretBinding = (orgId: string, id: string) => ({ orgId, table: 'webhooks', rowId: id, field: 'secret' });

export interface CreateWebhookInput {
  url: string;
  eventTypes: string[];
  description?: string | null;
}

/** Creates a webhook; the returned `signingSecret` is the only time the plaintext secret leaves the vault. */
export async function createWebhook(db: WebhookDb, vault: Vault, orgId: string, input: CreateWebhookInput): Promise<{ webhook: Webhook; signingSecret: string }> {
  const id = newId();
  const now = new Date().toISOString();
  const signingSecret = generateSigningSecret();
  const row: WebhookTable = {
    id,
    org_id: orgId,
    url: input.url,
    description: input.description ?? null,
    event_types: JSON.stringify([...new Set(input.eventTypes)].sort()),
    secret: vault.seal(signingSecret, secretBinding(orgId, id)),
    enabled: 1,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('webhooks').values(row).execute();
  return { webhook: toWebhook(row), signingSecret };
}

export async function listWebhooks(db: WebhookDb, orgId: string): Promise<Webhook[]> {
  const rows = await db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toWebhook);
}

export async function getWebhook(db: WebhookDb, orgId: string, id: string): Promise<Webhook | null> {
  const row = await db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toWebhook(row);
}

/** Deletes a webhook and (by cascade) its delivery log; false when there was none in this organization. */
export async function deleteWebhook(db: WebhookDb, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('webhooks').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function openSigningSecret(db: WebhookDb, vault: Vault, orgId: string, id: string): Promise<string | null> {
  const row = await db.selectFrom('webhooks').select('secret').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : vault.open(row.secret, secretBinding(orgId, id));
}

/** Enabled webhooks of an organization subscribed to `eventType` (directly or through `*`). */
export async function webhooksFor(db: WebhookDb, orgId: string, eventType: string): Promise<Webhook[]> {
  const rows = await db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId).where('enabled', '=', 1).execute();
  return rows.map(toWebhook).filter((w) => w.eventTypes.includes(ALL_EVENTS_WILDCARD) || w.eventTypes.includes(eventType));
}

export interface NewDelivery {
  webhookId: string;
  eventId: string;
  eventType: string;
  payload: string;
}

/**
 * Inserts delivery rows, skipping (webhook, event) pairs that already exist; returns the ids of the rows this call
 * created, so only one scanning process enqueues each delivery.
 */
export async function insertDeliveries(db: WebhookDb, orgId: string, deliveries: readonly NewDelivery[]): Promise<string[]> {
  const created: string[] = [];
  const now = new Date().toISOString();
  for (const d of deliveries) {
    const id = newId();
    const res = await db
      .insertInto('webhook_deliveries')
      .values({
        id,
        org_id: orgId,
        webhook_id: d.webhookId,
        event_id: d.eventId,
        event_type: d.eventType,
        payload: d.payload,
        status: 'pending',
        attempts: 0,
        last_status_code: null,
        last_error: null,
        last_attempt_at: null,
        next_attempt_at: now,
        delivered_at: null,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['webhook_id', 'event_id']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n) > 0) created.push(id);
  }
  return created;
}

export async function getDeliveryRow(db: WebhookDb, orgId: string, id: string): Promise<WebhookDeliveryTable | null> {
  const row = await db.selectFrom('webhook_deliveries').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  return row ?? null;
}

export interface AttemptOutcome {
  status: DeliveryStatus;
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: string | null;
}

export async function recordAttempt(db: WebhookDb, orgId: string, id: string, outcome: AttemptOutcome): Promise<void> {
  const now = new Date().toISOString();
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      status: outcome.status,
      attempts: eb('attempts', '+', 1),
      last_status_code: outcome.statusCode,
      last_error: outcome.error,
      last_attempt_at: now,
      next_attempt_at: outcome.nextAttemptAt,
      delivered_at: outcome.status === 'succeeded' ? now : null,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .execute();
}

export interface DeliveryPage {
  items: WebhookDelivery[];
  nextCursor: string | null;
}

/** The delivery log of one webhook, newest first, with an opaque cursor. */
export async function listDeliveries(db: WebhookDb, orgId: string, webhookId: string, options: { limit: number; cursor?: string }): Promise<DeliveryPage> {
  let query = db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('webhook_id', '=', webhookId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1);
  if (options.cursor !== undefined) {
    const after = decodeCursor(options.cursor);
    query = query.where((eb) => eb.or([eb('created_at', '<', after.time), eb.and([eb('created_at', '=', after.time), eb('id', '<', after.id)])]));
  }
  const rows = await query.execute();
  const items = rows.slice(0, options.limit).map(toDelivery);
  return { items, nextCursor: nextCursorOf(rows, options.limit, (row) => ({ time: row.created_at, id: row.id })) };
}

export async function readCursor(db: WebhookDb, name: string): Promise<{ occurredAt: string; eventId: string } | null> {
  const row = await db.selectFrom('webhook_cursor').selectAll().where('name', '=', name).executeTakeFirst();
  return row === undefined ? null : { occurredAt: row.occurred_at, eventId: row.event_id };
}

/** Moves the outbox cursor forward (never back): concurrent dispatchers may race, the furthest position wins. */
export async function advanceCursor(db: WebhookDb, name: string, to: { occurredAt: string; eventId: string }): Promise<void> {
  const now = new Date().toISOString();
  await db
    .insertInto('webhook_cursor')
    .values({ name, occurred_at: to.occurredAt, event_id: to.eventId, updated_at: now })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ occurred_at: to.occurredAt, event_id: to.eventId, updated_at: now })
        .where((eb) =>
          eb.or([
            eb('webhook_cursor.occurred_at', '<', to.occurredAt),
            eb.and([eb('webhook_cursor.occurred_at', '=', to.occurredAt), eb('webhook_cursor.event_id', '<', to.eventId)]),
          ]),
        ),
    )
    .execute();
}

/**
 * Request and response schemas of the webhook endpoints, shared by the route files, the CLI and the console. The
 * signing secret appears in exactly one response: the one that created the webhook.
 */
import { z } from 'zod';
import { ALL_EVENTS_WILDCARD, KNOWN_EVENT_TYPES } from '../../core/events.ts';

const KNOWN_LIST = KNOWN_EVENT_TYPES.join(', ');

/**
 * `*` (every event), or one of the known event types (src/core/events.ts); anything else is refused with the list, so a
 * misspelt type can never become a subscription that never fires. An enum, so the OpenAPI document lists them too.
 */
export const WebhookEventTypeSchema = z.enum([ALL_EVENTS_WILDCARD, ...KNOWN_EVENT_TYPES], {
  error: (issue) => `unknown event type ${JSON.stringify(issue.input)}; expected "*" or one of: ${KNOWN_EVENT_TYPES.join(', ')}`,
});

export const CreateWebhookBodySchema = z.strictObject({
  url: z.string().url('expected the absolute https URL of your receiver').max(2048),
  events: z.array(WebhookEventTypeSchema).min(1, 'expected at least one event type, or ["*"] for all').max(50),
  description: z.string().max(500).optional(),
});

export const WebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const CreatedWebhookSchema = WebhookSchema.extend({
  signingSecret: z.string().describe('Verify the Plugboard-Signature header with it. Shown only in this response; store it now.'),
});

export const WebhookListSchema = z.object({ webhooks: z.array(WebhookSchema) });

export const WebhookIdParamsSchema = z.strictObject({ id: z.string().min(1).max(100) });

export const DeliverySchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.number(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

export const DeliveryListSchema = z.object({ deliveries: z.array(DeliverySchema), nextCursor: z.string().nullable() });

export const DeliveryListQuerySchema = z.strictObject({
  limit: z.coerce.number({ error: 'expected a number from 1 to 200' }).int().min(1, 'expected 1 to 200').max(200, 'expected 1 to 200').default(50),
  cursor: z.string().min(1).optional(),
});

export const TestDeliverySchema = z.object({ deliveryId: z.string(), status: z.literal('pending') });

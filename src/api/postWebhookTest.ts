/**
 * `POST /webhooks/{id}/test`: sends a signed `webhook.test` event to the receiver through the normal delivery path
 * (job queue, retries, delivery log), so a receiver can be checked end to end. Answers 202 with the delivery id;
 * `GET /webhooks/{id}/deliveries` shows the outcome.
 */
import { defineRoute } from './route.ts';
import { TestDeliverySchema, WebhookIdParamsSchema } from './contracts/webhooks.ts';
import { PlugboardError } from '../core/errors.ts';
import { getWebhook, webhookDb } from '../webhooks/store.ts';
import { enqueueTestDelivery } from '../webhooks/delivery.ts';

export default defineRoute({
  method: 'POST',
  url: '/webhooks/:id/test',
  auth: 'org',
  permission: 'webhooks:write',
  summary: 'Send a test delivery',
  tags: ['webhooks'],
  schema: { params: WebhookIdParamsSchema, response: { 202: TestDeliverySchema } },
  async handler(request, reply) {
    const orgId = request.principal.orgId;
    const webhook = await getWebhook(webhookDb(request.ctx.store.db), orgId, request.params.id);
    if (webhook === null) throw new PlugboardError('NOT_FOUND', `No webhook ${request.params.id} in this organization.`);
    const deliveryId = await enqueueTestDelivery(request.ctx, orgId, webhook);
    void reply.code(202);
    return { deliveryId, status: 'pending' as const };
  },
});

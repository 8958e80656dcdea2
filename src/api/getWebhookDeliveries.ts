/** `GET /webhooks/{id}/deliveries`: the delivery log of one webhook, newest first, with cursor pagination. */
import { defineRoute } from './route.ts';
import { DeliveryListQuerySchema, DeliveryListSchema, WebhookIdParamsSchema } from './contracts/webhooks.ts';
import { PlugboardError } from '../core/errors.ts';
import { getWebhook, listDeliveries, webhookDb } from '../webhooks/store.ts';

export default defineRoute({
  method: 'GET',
  url: '/webhooks/:id/deliveries',
  auth: 'org',
  permission: 'webhooks:read',
  summary: 'List the deliveries of a webhook',
  tags: ['webhooks'],
  schema: { params: WebhookIdParamsSchema, querystring: DeliveryListQuerySchema, response: { 200: DeliveryListSchema } },
  async handler(request) {
    const db = webhookDb(request.ctx.store.db);
    const orgId = request.principal.orgId;
    if ((await getWebhook(db, orgId, request.params.id)) === null) throw new PlugboardError('NOT_FOUND', `No webhook ${request.params.id} in this organization.`);
    const page = await listDeliveries(db, orgId, request.params.id, { limit: request.query.limit, cursor: request.query.cursor });
    return { deliveries: page.items, nextCursor: page.nextCursor };
  },
});

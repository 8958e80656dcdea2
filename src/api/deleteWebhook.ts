/** `DELETE /webhooks/{id}`: removes a webhook and its delivery log; pending deliveries are dropped. */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { WebhookIdParamsSchema } from './contracts/webhooks.ts';
import { PlugboardError } from '../core/errors.ts';
import { deleteWebhook, webhookDb } from '../webhooks/store.ts';

export default defineRoute({
  method: 'DELETE',
  url: '/webhooks/:id',
  auth: 'org',
  permission: 'webhooks:write',
  summary: 'Delete a webhook',
  tags: ['webhooks'],
  schema: { params: WebhookIdParamsSchema, response: { 204: z.undefined() } },
  async handler(request, reply) {
    const deleted = await deleteWebhook(webhookDb(request.ctx.store.db), request.principal.orgId, request.params.id);
    if (!deleted) throw new PlugboardError('NOT_FOUND', `No webhook ${request.params.id} in this organization.`);
    return reply.code(204).send();
  },
});

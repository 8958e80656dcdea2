/** `GET /webhooks`: the organization's webhooks (never their signing secrets). */
import { defineRoute } from './route.ts';
import { WebhookListSchema } from './contracts/webhooks.ts';
import { listWebhooks, webhookDb } from '../webhooks/store.ts';
import { webhookView } from '../webhooks/view.ts';

export default defineRoute({
  method: 'GET',
  url: '/webhooks',
  auth: 'org',
  permission: 'webhooks:read',
  summary: 'List webhooks',
  tags: ['webhooks'],
  schema: { response: { 200: WebhookListSchema } },
  async handler(request) {
    const webhooks = await listWebhooks(webhookDb(request.ctx.store.db), request.principal.orgId);
    return { webhooks: webhooks.map(webhookView) };
  },
});

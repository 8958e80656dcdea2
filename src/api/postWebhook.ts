/**
 * `POST /webhooks`: subscribes a receiver URL to event types. The answer carries the signing secret, once; it is
 * sealed in the vault and used to sign every delivery (`Plugboard-Signature`, docs/webhooks.md).
 */
import { defineRoute } from './route.ts';
import { CreateWebhookBodySchema, CreatedWebhookSchema } from './contracts/webhooks.ts';
import { PlugboardError, isPlugboardError } from '../core/errors.ts';
import { assertUrlAllowed } from '../proxy/ssrf.ts';
import { createWebhook, webhookDb } from '../webhooks/store.ts';
import { webhookView } from '../webhooks/view.ts';

export default defineRoute({
  method: 'POST',
  url: '/webhooks',
  auth: 'org',
  permission: 'webhooks:write',
  summary: 'Create a webhook',
  tags: ['webhooks'],
  schema: { body: CreateWebhookBodySchema, response: { 201: CreatedWebhookSchema } },
  async handler(request, reply) {
    const { ctx } = request;
    const url = new URL(request.body.url);
    const allowPrivate = ctx.config.webhooks.allowPrivateTargets;
    if (url.protocol !== 'https:' && !allowPrivate) {
      throw new PlugboardError('VALIDATION_FAILED', 'Webhook receivers must use https.', { details: [{ path: 'body.url', message: `expected an https URL, got ${url.protocol}` }] });
    }
    try {
      assertUrlAllowed(url, { allowPrivateTargets: allowPrivate });
    } catch (error) {
      if (!isPlugboardError(error)) throw error;
      throw new PlugboardError('VALIDATION_FAILED', `The webhook URL is not an allowed receiver: ${error.message}`, { details: [{ path: 'body.url', message: error.message }] });
    }
    const { webhook, signingSecret } = await createWebhook(webhookDb(ctx.store.db), ctx.vault, request.principal.orgId, {
      url: url.href,
      eventTypes: request.body.events,
      description: request.body.description ?? null,
    });
    void reply.code(201);
    return { ...webhookView(webhook), signingSecret };
  },
});

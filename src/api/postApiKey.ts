/**
 * `POST /api-keys`: issues an API key for the caller's organization, owned by the calling user. The key is in this
 * response only. A key can carry only permissions its creator holds, so a key never escalates.
 */
import { PlugboardError } from '../core/errors.ts';
import { createApiKey } from '../store/api-keys.ts';
import { defineRoute } from './route.ts';
import { CreateApiKeyBodySchema, CreatedApiKeySchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'POST',
  url: '/api-keys',
  auth: 'org',
  permission: 'api-keys:write',
  summary: 'Create an API key (the secret is shown once)',
  tags: ['api-keys'],
  schema: { body: CreateApiKeyBodySchema, response: { 201: CreatedApiKeySchema } },
  async handler({ ctx, principal, body }, reply) {
    const held = principal.permissions;
    const requested = body.permissions ?? held.filter((p) => p !== 'platform:admin');
    const beyond = requested.filter((p) => !held.includes(p));
    if (beyond.length > 0) {
      throw new PlugboardError('FORBIDDEN', `A key cannot carry permissions its creator lacks: ${beyond.join(', ')}`, {
        details: beyond.map((p) => ({ path: 'body.permissions', message: `${p} is not held by these credentials` })),
      });
    }
    const { apiKey, secret } = await createApiKey(ctx.store.db, principal.orgId, { userId: principal.userId, name: body.name, permissions: requested });
    reply.code(201);
    return { ...apiKey, secret };
  },
});

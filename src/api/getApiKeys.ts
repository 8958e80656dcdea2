/**
 * `GET /api-keys`: the organization's API keys, revoked ones included (with `revokedAt`), without any secret.
 */
import { listApiKeys } from '../store/api-keys.ts';
import { defineRoute } from './route.ts';
import { ApiKeyListSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'GET',
  url: '/api-keys',
  auth: 'org',
  permission: 'api-keys:read',
  summary: 'List API keys',
  tags: ['api-keys'],
  schema: { response: { 200: ApiKeyListSchema } },
  async handler({ ctx, principal }) {
    return { apiKeys: await listApiKeys(ctx.store.db, principal.orgId) };
  },
});

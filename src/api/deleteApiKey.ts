/**
 * `DELETE /api-keys/{id}`: revokes an API key of the caller's organization at once (the next request with it gets
 * 401). Idempotent; the key stays listed with `revokedAt`. Another organization's key id answers 404.
 */
import { PlugboardError } from '../core/errors.ts';
import { revokeApiKey } from '../store/api-keys.ts';
import { defineRoute } from './route.ts';
import { ApiKeySchema, IdParamsSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'DELETE',
  url: '/api-keys/:id',
  auth: 'org',
  permission: 'api-keys:write',
  summary: 'Revoke an API key',
  tags: ['api-keys'],
  schema: { params: IdParamsSchema, response: { 200: ApiKeySchema } },
  async handler({ ctx, principal, params }) {
    const key = await revokeApiKey(ctx.store.db, principal.orgId, params.id);
    if (key === undefined) throw new PlugboardError('NOT_FOUND', `No API key ${params.id}`);
    ctx.log.info({ apiKeyId: key.id, by: principal.apiKeyId ?? principal.userId }, 'API key revoked');
    return key;
  },
});

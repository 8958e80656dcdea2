/**
 * `GET /api-keys/{id}`: one API key of the caller's organization (never its secret). Another organization's key id
 * answers 404, like an unknown one.
 */
import { PlugboardError } from '../core/errors.ts';
import { getApiKey } from '../store/api-keys.ts';
import { defineRoute } from './route.ts';
import { ApiKeySchema, IdParamsSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'GET',
  url: '/api-keys/:id',
  auth: 'org',
  permission: 'api-keys:read',
  summary: 'Get an API key',
  tags: ['api-keys'],
  schema: { params: IdParamsSchema, response: { 200: ApiKeySchema } },
  async handler({ ctx, principal, params }) {
    const key = await getApiKey(ctx.store.db, principal.orgId, params.id);
    if (key === undefined) throw new PlugboardError('NOT_FOUND', `No API key ${params.id}`);
    return key;
  },
});

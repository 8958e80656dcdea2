/** `GET /erasure-requests`: the organization's erasure requests, newest first, paged by `limit` and `cursor`. */
import { defineRoute } from './route.ts';
import { ErasureListSchema, ListErasureRequestsQuerySchema } from './contracts/revocation.ts';
import { erasureList } from '../revocation/receipt.ts';

export default defineRoute({
  method: 'GET',
  url: '/erasure-requests',
  auth: 'org',
  permission: 'erasure:read',
  summary: 'List erasure requests',
  tags: ['erasure'],
  schema: { querystring: ListErasureRequestsQuerySchema, response: { 200: ErasureListSchema } },
  async handler({ ctx, principal, query }) {
    return erasureList(ctx.store.db, principal.orgId, query.limit, query.cursor);
  },
});

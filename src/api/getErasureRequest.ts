/**
 * `GET /erasure-requests/{id}`: the receipt of an erasure request: status, totals and one line per connection
 * (connector, revoked, verified, when, provider status, attempts, manual step), paged by `limit` and `cursor`.
 */
import { defineRoute } from './route.ts';
import { ErasureIdParamsSchema, ErasureReceiptQuerySchema, ErasureReceiptSchema } from './contracts/revocation.ts';
import { erasureReceipt } from '../revocation/receipt.ts';

export default defineRoute({
  method: 'GET',
  url: '/erasure-requests/:id',
  auth: 'org',
  permission: 'erasure:read',
  summary: 'Get an erasure receipt',
  tags: ['erasure'],
  schema: { params: ErasureIdParamsSchema, querystring: ErasureReceiptQuerySchema, response: { 200: ErasureReceiptSchema } },
  async handler({ ctx, principal, params, query }) {
    return erasureReceipt(ctx.store.db, principal.orgId, params.id, query.limit, query.cursor);
  },
});

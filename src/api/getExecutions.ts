/**
 * `GET /executions`: the organization's flow executions, newest first, filtered by connection, flow, status and time,
 * with cursor pagination. Summaries only; `GET /executions/{id}` has the card records.
 */
import { defineRoute } from './route.ts';
import { ExecutionListSchema, ListExecutionsQuerySchema } from './contracts/executions.ts';
import { listExecutions } from '../store/executions.ts';

export default defineRoute({
  method: 'GET',
  url: '/executions',
  auth: 'org',
  permission: 'executions:read',
  summary: 'List flow executions',
  tags: ['executions'],
  schema: { querystring: ListExecutionsQuerySchema, response: { 200: ExecutionListSchema } },
  async handler(request) {
    const q = request.query;
    const toUtc = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
    const page = await listExecutions(
      request.ctx.store.db,
      request.principal.orgId,
      { connectionId: q.connectionId, flow: q.flow, status: q.status, from: toUtc(q.from), to: toUtc(q.to) },
      { limit: q.limit, cursor: q.cursor },
    );
    return { executions: page.items, nextCursor: page.nextCursor };
  },
});

/**
 * `GET /instances`: the organization's connections, newest first, filtered by connector, tags (all must match),
 * external user and status, with cursor pagination (`nextCursor`).
 */
import { defineRoute } from './route.ts';
import { InstanceListSchema, ListInstancesQuerySchema, tagList } from './contracts/instances.ts';
import { listConnections } from '../store/connections.ts';
import { instanceViews } from '../auth/instances.ts';
import type { ConnectionStatus } from '../core/connection.ts';

export default defineRoute({
  method: 'GET',
  url: '/instances',
  auth: 'org',
  permission: 'instances:read',
  summary: 'List instances',
  tags: ['instances'],
  schema: { querystring: ListInstancesQuerySchema, response: { 200: InstanceListSchema } },
  async handler(request) {
    const q = request.query;
    const orgId = request.principal.orgId;
    const page = await listConnections(request.ctx.store.db, orgId, {
      element: q.element,
      tags: tagList(q.tags),
      externalUserId: q.externalUserId,
      status: q.status as ConnectionStatus | undefined,
    }, { limit: q.limit, cursor: q.cursor });
    return { instances: await instanceViews(request.ctx, orgId, page.items), nextCursor: page.nextCursor };
  },
});

/** `GET /instances/{id}`: one connection of the organization (404 for another organization's). No secret is shown. */
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema, InstanceSchema } from './contracts/instances.ts';
import { requireConnection } from '../store/connections.ts';
import { instanceViews } from '../auth/instances.ts';

export default defineRoute({
  method: 'GET',
  url: '/instances/:id',
  auth: 'org',
  permission: 'instances:read',
  summary: 'Get an instance',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: InstanceSchema } },
  async handler(request) {
    const orgId = request.principal.orgId;
    const row = await requireConnection(request.ctx.store.db, orgId, request.params.id);
    const [view] = await instanceViews(request.ctx, orgId, [row]);
    return view;
  },
});

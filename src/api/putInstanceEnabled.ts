/** `PUT /instances/{id}/enabled`: enable an instance (idempotent; `instance.enabled` is recorded only on a change). */
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema, InstanceSchema } from './contracts/instances.ts';
import { setInstanceEnabled } from '../auth/instances.ts';

export default defineRoute({
  method: 'PUT',
  url: '/instances/:id/enabled',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Enable an instance',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: InstanceSchema } },
  async handler(request) {
    return setInstanceEnabled(request.ctx, request.principal.orgId, request.params.id, true);
  },
});

/** `DELETE /instances/{id}/enabled`: disable an instance (idempotent; `instance.disabled` is recorded only on a change). */
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema, InstanceSchema } from './contracts/instances.ts';
import { setInstanceEnabled } from '../auth/instances.ts';

export default defineRoute({
  method: 'DELETE',
  url: '/instances/:id/enabled',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Disable an instance',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: InstanceSchema } },
  async handler(request) {
    return setInstanceEnabled(request.ctx, request.principal.orgId, request.params.id, false);
  },
});

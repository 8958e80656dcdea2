/**
 * `DELETE /instances/{id}`: deletes a connection and its sealed secrets, recording `instance.deleted`. The revocation
 * area replaces this with revoke-then-delete (the provider call and the outcome in the response).
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema } from './contracts/instances.ts';
import { deleteConnection, requireConnection } from '../store/connections.ts';
import { recordEvent } from '../store/events.ts';
import { withConnectionLock } from '../auth/lock.ts';

export default defineRoute({
  method: 'DELETE',
  url: '/instances/:id',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Delete an instance',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: z.object({ id: z.string(), deleted: z.literal(true) }) } },
  async handler(request) {
    const { ctx, principal } = request;
    const row = await requireConnection(ctx.store.db, principal.orgId, request.params.id);
    // Under the lock, so a refresh in flight cannot write tokens back into a row being deleted.
    await withConnectionLock(ctx, principal.orgId, row.id, async () => {
      await deleteConnection(ctx.store.db, principal.orgId, row.id);
      await recordEvent(ctx.store.db, principal.orgId, { type: 'instance.deleted', instanceId: row.id, data: { element: row.element_key } });
    });
    return { id: row.id, deleted: true as const };
  },
});

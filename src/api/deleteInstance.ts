/**
 * `DELETE /instances/{id}`: revoke, then delete. The connection's grant is taken under its lock and its local secrets
 * are destroyed at once whatever the provider answers; the provider call (the connector's `revoke` flow, else an RFC
 * 7009 revocation, else a manual step) is awaited about 10 s and otherwise continues in the background. The response
 * carries the outcome: `revoked`, `verified`, `pending`, `message { text, unregisterURL }`, `serviceResponse`.
 */
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema } from './contracts/instances.ts';
import { RevokeOutcomeSchema } from './contracts/revocation.ts';
import { revocationService } from '../revocation/service.ts';

export default defineRoute({
  method: 'DELETE',
  url: '/instances/:id',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Revoke and delete an instance',
  description: 'Destroys the local secrets at once, revokes the grant at the provider (bounded wait, then in the background) and reports the outcome.',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: RevokeOutcomeSchema } },
  async handler({ ctx, principal, params }) {
    return revocationService(ctx).revokeInstance(principal.orgId, params.id, 'delete');
  },
});

/**
 * `POST /instances/{id}/revoke`: test a revocation without deleting (no deploy step). Runs the connector's revocation,
 * wipes the tokens and marks the connection `revoked`, keeping its id, name, tags and configuration, so that
 * `PATCH /instances/{id}` with a new code brings it back. Answers with the same outcome as DELETE.
 */
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema } from './contracts/instances.ts';
import { RevokeOutcomeSchema } from './contracts/revocation.ts';
import { revocationService } from '../revocation/service.ts';

export default defineRoute({
  method: 'POST',
  url: '/instances/:id/revoke',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Revoke an instance without deleting it',
  description: 'Revokes the grant at the provider, wipes the tokens and marks the instance revoked; re-authenticate it with PATCH /instances/{id}.',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: RevokeOutcomeSchema } },
  async handler({ ctx, principal, params }) {
    return revocationService(ctx).revokeInstance(principal.orgId, params.id, 'test');
  },
});

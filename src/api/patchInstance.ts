/**
 * `PATCH /instances/{id}`: renames, retags or reconfigures a connection; with `providerData.code` (or new
 * credentials or tokens) it re-authenticates in place: same id, name, tags and configuration, new tokens, valid
 * again, event `instance.reauthenticated` (seed 002's walkthrough).
 */
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema, InstanceSchema, PatchInstanceBodySchema } from './contracts/instances.ts';
import { credentialInputFrom, patchInstance } from '../auth/instances.ts';

export default defineRoute({
  method: 'PATCH',
  url: '/instances/:id',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Update or re-authenticate an instance',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, body: PatchInstanceBodySchema, response: { 200: InstanceSchema } },
  async handler(request) {
    const body = request.body;
    return patchInstance(request.ctx, request.principal.orgId, request.params.id, {
      name: body.name,
      tags: body.tags,
      configuration: body.configuration,
      externalUserId: body.externalUserId,
    }, credentialInputFrom(body));
  },
});

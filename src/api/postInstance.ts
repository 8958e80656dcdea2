/**
 * `POST /instances`: creates a connection from an OAuth code, client credentials, basic credentials, an API key, or
 * imported tokens, chosen by the connector's auth type and the fields given. Answers 201 with the instance, including
 * its `Element` token (shown this once).
 */
import { defineRoute } from './route.ts';
import { CreateInstanceBodySchema, InstanceSchema } from './contracts/instances.ts';
import { createInstance, credentialInputFrom } from '../auth/instances.ts';

export default defineRoute({
  method: 'POST',
  url: '/instances',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Create an instance (connection)',
  tags: ['instances'],
  schema: { body: CreateInstanceBodySchema, response: { 201: InstanceSchema } },
  async handler(request, reply) {
    const body = request.body;
    const instance = await createInstance(request.ctx, request.principal.orgId, {
      elementKey: body.element.key,
      name: body.name,
      tags: body.tags,
      externalUserId: body.externalUserId ?? null,
      configuration: body.configuration,
      baseUrl: body.baseUrl ?? null,
      ...credentialInputFrom(body),
    });
    reply.code(201);
    return instance;
  },
});

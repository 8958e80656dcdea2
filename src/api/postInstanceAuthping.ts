/**
 * `POST /instances/{id}/authping`: checks one connection now. The token is refreshed first when it is expired or
 * about to be, then the connector's `_authping` flow runs and sets `valid` (events instance.validated /
 * instance.invalidated). Repeated refresh failures past the configured limit disable the instance.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema } from './contracts/instances.ts';
import { checkConnection } from '../health/check.ts';

export default defineRoute({
  method: 'POST',
  url: '/instances/:id/authping',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Check an instance now (authping)',
  tags: ['instances'],
  schema: {
    params: InstanceIdParamsSchema,
    response: {
      200: z.object({
        instanceId: z.string(),
        working: z.boolean().nullable(),
        message: z.string(),
        executionId: z.string().nullable(),
        serviceResponse: z.object({ statusCode: z.number().int().nullable(), body: z.unknown() }).nullable().describe('What the provider answered the authping flow (vault values redacted); null when no flow ran.'),
        refreshed: z.boolean(),
        valid: z.boolean(),
        status: z.string(),
        checkedAt: z.string(),
      }),
    },
  },
  async handler(request) {
    return checkConnection(request.ctx, request.principal.orgId, request.params.id, { refreshFailureLimit: request.ctx.config.health.refreshFailureLimit });
  },
});

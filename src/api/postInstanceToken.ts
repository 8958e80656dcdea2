/**
 * `POST /instances/{id}/token`: issues a new instance token for `Authorization: User <userSecret>, Element <token>` and
 * returns it once. The token is a credential stored only as a hash, so a lost one cannot be read back; this is the way
 * to get a new one, and the way to retire one that leaked (the previous token stops working immediately). Recorded as
 * the event `instance.token_rotated` (who rotated it, never the value).
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { InstanceIdParamsSchema } from './contracts/instances.ts';
import { rotateInstanceToken } from '../auth/instances.ts';

export default defineRoute({
  method: 'POST',
  url: '/instances/:id/token',
  auth: 'org',
  permission: 'instances:write',
  summary: 'Rotate the instance token',
  tags: ['instances'],
  schema: {
    params: InstanceIdParamsSchema,
    response: {
      200: z.object({
        id: z.string(),
        token: z.string().describe('The new instance token. Shown only in this response; the previous one no longer works.'),
        rotatedAt: z.string(),
      }),
    },
  },
  async handler(request, reply) {
    const { ctx, principal } = request;
    reply.header('cache-control', 'no-store');
    return rotateInstanceToken(ctx, principal.orgId, request.params.id, { userId: principal.userId, keyId: principal.apiKeyId, requestId: request.id });
  },
});

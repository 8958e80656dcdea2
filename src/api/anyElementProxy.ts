/**
 * `ANY /proxy/*` with `Authorization: User <userSecret>, Element <instanceToken>`: the Open Connectors way of calling
 * one connection, named by its instance token rather than its id. Same forwarding as `/instances/{id}/proxy/*`.
 *
 * Most calls are served by the lean path in front of Fastify (`src/proxy/fast-path.ts`), which does the same; this
 * route describes the endpoint in the OpenAPI document and serves the requests the lean path hands over.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { handleProxyCall, PROXY_METHODS } from '../proxy/handler.ts';

export default defineRoute({
  method: [...PROXY_METHODS],
  url: '/proxy/*',
  auth: 'element',
  streamBody: true,
  anyContentType: true,
  summary: 'Call the provider API through the instance of an Element token',
  description: 'Forwards the request to the connection base URL with its credentials. Opt in to retries on 429/502/503/504 with `X-Plugboard-Retry: on|off|0-5`.',
  tags: ['proxy'],
  schema: { params: z.object({ '*': z.string() }), response: {} },
  async handler(request, reply) {
    return handleProxyCall({ ctx: request.ctx, orgId: request.principal.orgId, instanceId: request.principal.instanceId, skipSegments: 1, request: request.raw, reply });
  },
});

/**
 * `ANY /instances/{id}/proxy/*`: calls the provider through one connection of the organization. Method, path, query,
 * headers (sanitised) and the body (streamed) are forwarded to the connection's base URL with its credentials; a dead
 * token answers 401 INVALID_ACCESS_TOKEN and marks the instance invalid. See docs/proxy.md.
 *
 * Most calls are served by the lean path in front of Fastify (`src/proxy/fast-path.ts`), which does the same; this
 * route describes the endpoint in the OpenAPI document and serves the requests the lean path hands over.
 */
import { z } from 'zod';
import { defineRoute } from './route.ts';
import { handleProxyCall, PROXY_METHODS } from '../proxy/handler.ts';

export default defineRoute({
  method: [...PROXY_METHODS],
  url: '/instances/:id/proxy/*',
  auth: 'org',
  permission: 'instances:write',
  streamBody: true,
  anyContentType: true,
  summary: 'Call the provider API through an instance',
  description: 'Forwards the request to the connection base URL with its credentials. Opt in to retries on 429/502/503/504 with `X-Plugboard-Retry: on|off|0-5`.',
  tags: ['proxy'],
  schema: { params: z.object({ id: z.string().min(1), '*': z.string() }), response: {} },
  async handler(request, reply) {
    return handleProxyCall({ ctx: request.ctx, orgId: request.principal.orgId, instanceId: request.params.id, skipSegments: 3, request: request.raw, reply });
  },
});

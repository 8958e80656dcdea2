/**
 * `POST /elements`: deploy a new private connector to the organization (version 1). The body is the definition as a
 * JSON object or as YAML/JSON text; it is validated and its flows compiled before anything is stored. A key already
 * taken (by a built-in or an earlier deploy) is a 409; new versions go through `PUT /elements/{key}`.
 */
import { defineRoute, hasPermission } from './route.ts';
import { DeployElementBodySchema, ElementDetailSchema } from './contracts/elements.ts';
import { deployConnector } from '../connectors/resolve.ts';
import { getOAuthAppInfo } from '../store/connectors.ts';
import { elementSummary } from './element-view.ts';

export default defineRoute({
  method: 'POST',
  url: '/elements',
  auth: 'org',
  permission: 'elements:write',
  summary: 'Deploy a new private connector',
  tags: ['elements'],
  anyContentType: true,
  bodyLimit: 1024 * 1024,
  schema: { body: DeployElementBodySchema, response: { 201: ElementDetailSchema } },
  async handler(request, reply) {
    const orgId = request.principal.orgId;
    const entry = await deployConnector(request.ctx, orgId, {
      body: request.body, mustBeNew: true, userId: request.principal.userId, mayAllowInsecureTargets: hasPermission(request.principal, 'platform:admin'),
    });
    const app = await getOAuthAppInfo(request.ctx.store.db, orgId, entry.key);
    reply.code(201);
    return { ...elementSummary(entry, app), definition: entry.definition as unknown as Record<string, unknown> };
  },
});

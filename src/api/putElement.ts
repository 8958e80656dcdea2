/**
 * `PUT /elements/{key}`: deploy a private connector, creating it or adding its next version (the highest is live).
 * The body is the definition as a JSON object or YAML/JSON text, and its key must match the URL. Built-in connectors
 * are read-only (409).
 */
import { defineRoute, hasPermission } from './route.ts';
import { DeployElementBodySchema, ElementDetailSchema, ElementKeyParamsSchema } from './contracts/elements.ts';
import { deployConnector } from '../connectors/resolve.ts';
import { getOAuthAppInfo } from '../store/connectors.ts';
import { elementSummary } from './element-view.ts';

export default defineRoute({
  method: 'PUT',
  url: '/elements/:key',
  auth: 'org',
  permission: 'elements:write',
  summary: 'Deploy a private connector (new version)',
  tags: ['elements'],
  anyContentType: true,
  bodyLimit: 1024 * 1024,
  schema: { params: ElementKeyParamsSchema, body: DeployElementBodySchema, response: { 200: ElementDetailSchema } },
  async handler(request) {
    const orgId = request.principal.orgId;
    const entry = await deployConnector(request.ctx, orgId, {
      body: request.body, expectedKey: request.params.key, mustBeNew: false, userId: request.principal.userId,
      mayAllowInsecureTargets: hasPermission(request.principal, 'platform:admin'),
    });
    const app = await getOAuthAppInfo(request.ctx.store.db, orgId, entry.key);
    return { ...elementSummary(entry, app), definition: entry.definition as unknown as Record<string, unknown> };
  },
});

/** `GET /elements/{key}`: one connector as the organization sees it, with its full (non-secret) definition. */
import { defineRoute } from './route.ts';
import { ElementDetailSchema, ElementKeyParamsSchema } from './contracts/elements.ts';
import { getConnector } from '../connectors/resolve.ts';
import { getOAuthAppInfo } from '../store/connectors.ts';
import { elementSummary } from './element-view.ts';

export default defineRoute({
  method: 'GET',
  url: '/elements/:key',
  auth: 'org',
  permission: 'elements:read',
  summary: 'Get an element (connector)',
  tags: ['elements'],
  schema: { params: ElementKeyParamsSchema, response: { 200: ElementDetailSchema } },
  async handler(request) {
    const orgId = request.principal.orgId;
    const entry = await getConnector(request.ctx, orgId, request.params.key);
    const app = await getOAuthAppInfo(request.ctx.store.db, orgId, entry.key);
    return { ...elementSummary(entry, app), definition: entry.definition as unknown as Record<string, unknown> };
  },
});

/** `GET /elements`: every connector the organization sees (its private ones, then the built-ins), with OAuth app status. */
import { defineRoute } from './route.ts';
import { ElementListSchema } from './contracts/elements.ts';
import { listConnectors } from '../connectors/resolve.ts';
import { listOAuthAppInfos } from '../store/connectors.ts';
import { elementSummary } from './element-view.ts';

export default defineRoute({
  method: 'GET',
  url: '/elements',
  auth: 'org',
  permission: 'elements:read',
  summary: 'List elements (connectors)',
  tags: ['elements'],
  schema: { response: { 200: ElementListSchema } },
  async handler(request) {
    const orgId = request.principal.orgId;
    const [entries, apps] = await Promise.all([listConnectors(request.ctx, orgId), listOAuthAppInfos(request.ctx.store.db, orgId)]);
    return { elements: entries.map((entry) => elementSummary(entry, apps.get(entry.key))) };
  },
});

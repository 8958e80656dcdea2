/**
 * `GET /organizations`: the caller's own organization; platform administrators see every organization.
 */
import { hasPermission } from './route.ts';
import { getOrganization, listAllOrganizations } from '../store/organizations.ts';
import { defineRoute } from './route.ts';
import { OrganizationListSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'GET',
  url: '/organizations',
  auth: 'org',
  permission: 'organizations:read',
  summary: 'List organizations (your own; all of them for platform administrators)',
  tags: ['organizations'],
  schema: { response: { 200: OrganizationListSchema } },
  async handler({ ctx, principal }) {
    if (hasPermission(principal, 'platform:admin')) return { organizations: await listAllOrganizations(ctx.store.db) };
    const own = await getOrganization(ctx.store.db, principal.orgId);
    return { organizations: own === undefined ? [] : [own] };
  },
});

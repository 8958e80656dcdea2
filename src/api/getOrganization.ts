/**
 * `GET /organizations/{id}`: one organization. Another tenant's id answers 404, exactly like an id that does not
 * exist, unless the caller is a platform administrator.
 */
import { PlugboardError } from '../core/errors.ts';
import { getOrganization } from '../store/organizations.ts';
import { defineRoute, hasPermission } from './route.ts';
import { IdParamsSchema, OrganizationSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'GET',
  url: '/organizations/:id',
  auth: 'org',
  permission: 'organizations:read',
  summary: 'Get an organization',
  tags: ['organizations'],
  schema: { params: IdParamsSchema, response: { 200: OrganizationSchema } },
  async handler({ ctx, principal, params }) {
    const visible = params.id === principal.orgId || hasPermission(principal, 'platform:admin');
    const org = visible ? await getOrganization(ctx.store.db, params.id) : undefined;
    if (org === undefined) throw new PlugboardError('NOT_FOUND', `No organization ${params.id}`);
    return org;
  },
});

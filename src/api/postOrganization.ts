/**
 * `POST /organizations`: creates a tenant with its first admin user and an admin API key. The secrets are in this
 * response only. Platform administrators only: an organization's own admin cannot create other tenants.
 */
import { ORG_ADMIN_PERMISSIONS } from '../core/permissions.ts';
import { createOrganization } from '../store/organizations.ts';
import { createApiKey } from '../store/api-keys.ts';
import { defineRoute } from './route.ts';
import { CreateOrganizationBodySchema, CreatedOrganizationSchema } from './contracts/foundation.ts';

export default defineRoute({
  method: 'POST',
  url: '/organizations',
  auth: 'org',
  permission: 'platform:admin',
  summary: 'Create an organization with its admin user and admin API key',
  tags: ['organizations'],
  schema: { body: CreateOrganizationBodySchema, response: { 201: CreatedOrganizationSchema } },
  async handler(request, reply) {
    const { ctx, body } = request;
    const created = await createOrganization(ctx.store.db, {
      name: body.name,
      adminEmail: body.admin?.email ?? 'admin@localhost',
      adminName: body.admin?.name ?? 'Administrator',
      adminRole: 'admin',
    });
    const key = await createApiKey(ctx.store.db, created.organization.id, { userId: created.user.id, name: 'admin', permissions: ORG_ADMIN_PERMISSIONS });
    ctx.log.info({ organizationId: created.organization.id, by: request.principal.orgId }, 'organization created');
    reply.code(201);
    return {
      organization: created.organization,
      user: created.user,
      organizationSecret: created.organizationSecret,
      userSecret: created.userSecret,
      apiKey: { ...key.apiKey, secret: key.secret },
    };
  },
});

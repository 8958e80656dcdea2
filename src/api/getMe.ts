/**
 * `GET /me`: who the credentials are: the organization, the user, the API key used (if any) and the permissions in
 * force. Any valid credentials may ask; the console and the CLI use it to show what the caller may do.
 */
import { z } from 'zod';
import { PlugboardError } from '../core/errors.ts';
import { getOrganization, getUser } from '../store/organizations.ts';
import { defineRoute } from './route.ts';
import { OrganizationSchema, PermissionSchema, UserSchema } from './contracts/foundation.ts';

export const MeSchema = z.object({
  organization: OrganizationSchema,
  user: UserSchema,
  apiKeyId: z.string().nullable(),
  permissions: z.array(PermissionSchema),
});

export default defineRoute({
  method: 'GET',
  url: '/me',
  auth: 'org',
  summary: 'The caller: organization, user, API key and permissions',
  tags: ['organizations'],
  schema: { response: { 200: MeSchema } },
  async handler({ ctx, principal }) {
    const [organization, user] = await Promise.all([getOrganization(ctx.store.db, principal.orgId), getUser(ctx.store.db, principal.orgId, principal.userId)]);
    // Credentials that authenticated always name an existing organization and user; a race with their deletion is a 401.
    if (organization === undefined || user === undefined) throw new PlugboardError('UNAUTHENTICATED', 'These credentials no longer name an existing user');
    return { organization, user, apiKeyId: principal.apiKeyId, permissions: [...principal.permissions] };
  },
});

/**
 * Request and response schemas of the foundation endpoints (organizations, API keys, keyring), shared by the route
 * files, the CLI and the console so all three agree on one contract. Objects are strict: an unknown field is a 400
 * naming it.
 */
import { z } from 'zod';
import { PERMISSIONS } from '../../core/permissions.ts';

export const PermissionSchema = z.enum(PERMISSIONS);

export const OrganizationSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
});

export const UserSchema = z.object({
  id: z.string(),
  orgId: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(['platform-admin', 'admin', 'member']),
  createdAt: z.string(),
});

export const ApiKeySchema = z.object({
  id: z.string(),
  orgId: z.string(),
  userId: z.string(),
  name: z.string(),
  prefix: z.string().describe('Public prefix of the key, safe to show (pb_<lookup>)'),
  permissions: z.array(PermissionSchema),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const IdParamsSchema = z.object({ id: z.string().min(1).max(200) }).strict();

export const CreateOrganizationBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    admin: z
      .object({
        email: z.string().trim().min(3).max(320).regex(/^[^@\s]+@[^@\s]+$/, 'expected an email address such as admin@example.com'),
        name: z.string().trim().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const CreatedOrganizationSchema = z.object({
  organization: OrganizationSchema,
  user: UserSchema,
  organizationSecret: z.string().describe('Shown once: `Authorization: User <userSecret>, Organization <organizationSecret>`'),
  userSecret: z.string().describe('Shown once'),
  apiKey: ApiKeySchema.extend({ secret: z.string().describe('Shown once: `Authorization: Bearer <secret>`') }),
});

export const OrganizationListSchema = z.object({ organizations: z.array(OrganizationSchema) });

export const CreateApiKeyBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    permissions: z.array(PermissionSchema).min(1).max(PERMISSIONS.length).optional().describe('Default: every permission of the caller except platform:admin'),
  })
  .strict();

export const CreatedApiKeySchema = ApiKeySchema.extend({ secret: z.string().describe('Shown once: `Authorization: Bearer <secret>`') });

export const ApiKeyListSchema = z.object({ apiKeys: z.array(ApiKeySchema) });

export const KeyVersionSchema = z.object({
  version: z.number().int(),
  status: z.enum(['active', 'retired']),
  current: z.boolean(),
  createdAt: z.string(),
  activatesAt: z.string(),
  retiredAt: z.string().nullable(),
  rowsRemaining: z.number().int().nullable(),
});

export const KeyringSchema = z.object({ versions: z.array(KeyVersionSchema), masterKeySource: z.enum(['env', 'file']) });

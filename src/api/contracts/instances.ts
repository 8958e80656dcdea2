/**
 * The typed contract of the instance (connection) endpoints, shared by the route files, the CLI and the console.
 * Shapes follow SAP Open Connectors (`element: { key }`, `providerData: { code }`, `externalUserId`, `tags`) so
 * people coming from there feel at home. Request objects are strict: an unknown field is a 400 naming it.
 */
import { z } from 'zod';
import { CONNECTION_STATUSES } from '../../core/connection.ts';

const Tag = z.string().min(1, 'expected a non-empty tag').max(100, 'expected a tag of at most 100 characters');
const ConfigurationValue = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a text, number or boolean configuration value (secrets go in credentials)' });
export const ConfigurationSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a key of letters, digits and _'), ConfigurationValue);

export const InstanceSchema = z.object({
  id: z.string(),
  name: z.string(),
  element: z.object({ key: z.string(), name: z.string() }),
  tags: z.array(z.string()),
  externalUserId: z.string().nullable(),
  status: z.enum(CONNECTION_STATUSES as [string, ...string[]]),
  valid: z.boolean(),
  disabled: z.boolean(),
  authType: z.string(),
  createdDate: z.string(),
  updatedDate: z.string(),
  lastAuthenticatedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  configuration: z.record(z.string(), z.unknown()),
  baseUrl: z.string().nullable(),
  token: z.string().optional().describe('The `Element <token>` credential; present only in the response that created the instance.'),
});
export type Instance = z.output<typeof InstanceSchema>;

export const ProviderDataSchema = z.strictObject({
  code: z.string().min(1, 'expected the code the provider sent to the callback URL').max(4096),
  state: z.string().min(1).max(200).optional().describe('The state the provider sent back with the code; required when the connector uses PKCE.'),
  callbackUrl: z.string().url('expected the absolute callback URL used to obtain the code').optional(),
});

export const CredentialsSchema = z.strictObject({
  username: z.string().min(1).max(1024).optional(),
  password: z.string().max(4096).optional(),
  apiKey: z.string().min(1).max(8192).optional(),
});

export const ImportedTokensSchema = z.strictObject({
  accessToken: z.string().min(1).max(16384),
  refreshToken: z.string().min(1).max(16384).optional(),
  tokenType: z.string().min(1).max(40).optional(),
  expiresAt: z.string().optional().describe('ISO-8601 instant when the access token expires.'),
  expiresIn: z.number().int().positive().optional().describe('Seconds until the access token expires.'),
  scope: z.string().max(4096).optional(),
});

const CredentialFields = {
  providerData: ProviderDataSchema.optional(),
  credentials: CredentialsSchema.optional(),
  tokens: ImportedTokensSchema.optional().describe('Tokens already held elsewhere (migration): stored as they are, no provider call.'),
  apiKey: z.string().min(1).max(1024).optional().describe('A per-connection OAuth client id (Open Connectors style); otherwise the organization\'s OAuth app is used.'),
  apiSecret: z.string().min(1).max(4096).optional().describe('The secret of `apiKey`.'),
  scope: z.string().max(4096).optional().describe('Scope for the client credentials grant (defaults to the connector\'s scopes).'),
};

export const CreateInstanceBodySchema = z.strictObject({
  element: z.strictObject({ key: z.string().min(1, 'expected the connector key, e.g. "sandbox"') }),
  name: z.string().min(1, 'expected a name for the instance').max(200),
  tags: z.array(Tag).max(50).default([]),
  externalUserId: z.string().min(1).max(256).optional().describe('The person this connection belongs to (used by GDPR erasure).'),
  configuration: ConfigurationSchema.default({}),
  baseUrl: z.string().url('expected an absolute URL').optional().describe('Overrides the connector\'s base URL for this connection.'),
  ...CredentialFields,
});

export const PatchInstanceBodySchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  tags: z.array(Tag).max(50).optional(),
  externalUserId: z.string().min(1).max(256).nullable().optional(),
  configuration: ConfigurationSchema.optional(),
  ...CredentialFields,
});

export const InstanceIdParamsSchema = z.strictObject({ id: z.string().min(1).max(100) });

export const ListInstancesQuerySchema = z.strictObject({
  element: z.string().min(1).optional(),
  tags: z.union([z.string(), z.array(z.string())]).optional().describe('Comma-separated or repeated; an instance must carry every tag given.'),
  externalUserId: z.string().min(1).optional(),
  status: z.enum(CONNECTION_STATUSES as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1, 'expected 1 to 200').max(200, 'expected 1 to 200').default(50),
  cursor: z.string().min(1).optional(),
});

export const InstanceListSchema = z.object({ instances: z.array(InstanceSchema), nextCursor: z.string().nullable() });

export const CredentialsResponseSchema = z.union([
  z.object({ type: z.literal('oauth2'), accessToken: z.string(), tokenType: z.string(), expiresAt: z.string().nullable(), refreshed: z.boolean() }),
  z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }),
  z.object({ type: z.literal('custom'), apiKey: z.string() }),
]);

/** Splits `tags=a,b` and `tags=a&tags=b` alike. */
export function tagList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const parts = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((t) => t.trim()).filter((t) => t !== '');
  return parts.length === 0 ? undefined : parts;
}

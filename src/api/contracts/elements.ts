/**
 * The typed contract of the element (connector) endpoints, shared by the route files, the CLI and the console. An
 * element is a connector as one organization sees it: a built-in from `connectors/` or the live version of one of its
 * private connectors, with whether its OAuth app is set (the client id; never the secret).
 */
import { z } from 'zod';
import { AUTH_TYPES, REVOCATION_STYLES } from '../../connectors/schema.ts';

export const ElementKeyParamsSchema = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected a connector key of lowercase letters, digits and dashes'),
});

export const ElementSummarySchema = z.object({
  key: z.string(),
  name: z.string(),
  description: z.string(),
  origin: z.enum(['builtin', 'private']).describe('`builtin`: shipped in connectors/; `private`: deployed by this organization'),
  version: z.number().int().describe('0 for built-ins; 1, 2, ... for deployed versions (the highest is live)'),
  authType: z.enum(AUTH_TYPES),
  baseUrl: z.string(),
  configuration: z.array(z.object({ key: z.string(), label: z.string(), required: z.boolean(), default: z.string().optional(), description: z.string().optional() })),
  unregisterUrl: z.string().nullable(),
  revocation: z
    .object({
      style: z.enum(REVOCATION_STYLES),
      confirmed: z.boolean(),
      source: z.string().nullable(),
      statement: z.string().optional(),
    })
    .nullable()
    .describe('Where the revoke behaviour comes from; `confirmed: false` rows carry a statement of what to re-verify'),
  flows: z.object({ names: z.array(z.string()), authping: z.boolean(), revoke: z.boolean() }),
  oauthApp: z.object({ clientId: z.string(), updatedAt: z.string() }).nullable().describe('The organization OAuth app; the secret is never returned'),
});
export type ElementSummary = z.output<typeof ElementSummarySchema>;

export const ElementListSchema = z.object({ elements: z.array(ElementSummarySchema) });

export const ElementDetailSchema = ElementSummarySchema.extend({
  definition: z.record(z.string(), z.unknown()).describe('The validated definition (defaults applied)'),
});

export const DeployElementBodySchema = z
  .unknown()
  .describe('The connector definition: a JSON object (application/json), or YAML or JSON text (application/yaml, text/yaml, text/plain). See connectors/connector.schema.json.');

export const OAuthAppBodySchema = z.strictObject({
  clientId: z.string().min(1, 'expected the OAuth client id').max(1024),
  clientSecret: z.string().min(1, 'expected the OAuth client secret').max(4096),
});

export const OAuthAppSchema = z.object({
  key: z.string(),
  clientId: z.string(),
  clientSecretSet: z.literal(true).describe('The secret is sealed in the vault and never returned'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

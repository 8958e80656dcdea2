/**
 * The typed contract of the revocation endpoints (delete and test revoke outcomes, erasure requests and receipts),
 * shared by the route files, the CLI and the console. Request objects are strict: an unknown field is a 400 naming it.
 */
import { z } from 'zod';

export const ServiceResponseSchema = z.object({
  statusCode: z.number().int().nullable(),
  body: z.unknown(),
});

export const RevokeOutcomeSchema = z.object({
  id: z.string().describe('The instance id.'),
  revocationId: z.string(),
  revoked: z.boolean().describe('True when the provider confirmed the revocation, or reported the token as already invalid.'),
  verified: z.boolean().describe('True when introspection (active: false) or the authping flow (401) proved the token dead.'),
  pending: z.boolean().describe('True when the provider call continues in the background.'),
  message: z.object({ text: z.string(), unregisterURL: z.string().nullable() }),
  serviceResponse: ServiceResponseSchema,
});
export type RevokeOutcomeBody = z.output<typeof RevokeOutcomeSchema>;

const InstanceId = z.string().min(1).max(100);

export const CreateErasureRequestBodySchema = z
  .strictObject({
    externalUserId: z.string().min(1, 'expected the external user id of the person').max(256).optional(),
    instanceIds: z.array(InstanceId).min(1, 'expected at least one instance id').max(1000, 'expected at most 1000 instance ids; send several requests or use a tag').optional(),
    tag: z.string().min(1).max(100).optional(),
  })
  .refine((body) => [body.externalUserId, body.instanceIds, body.tag].filter((v) => v !== undefined).length === 1, {
    message: 'expected exactly one of externalUserId, instanceIds or tag',
  });

export const ERASURE_STATUSES = ['pending', 'running', 'completed', 'completed_with_manual_steps'] as const;

export const ErasureCreatedSchema = z.object({ id: z.string(), status: z.enum(ERASURE_STATUSES) });

export const ErasureSubjectSchema = z.object({
  kind: z.enum(['externalUserId', 'instanceIds', 'tag']),
  externalUserId: z.string().optional(),
  externalUserIdHash: z.string().optional().describe('Present instead of externalUserId when subjects are stored hashed.'),
  tag: z.string().optional(),
  instanceIds: z.array(z.string()).optional(),
});

export const ErasureTotalsSchema = z.object({
  connections: z.number().int(),
  pending: z.number().int(),
  revoked: z.number().int(),
  verified: z.number().int(),
  failed: z.number().int(),
  manual: z.number().int(),
});

export const ErasureItemSchema = z.object({
  instanceId: z.string(),
  connector: z.string(),
  status: z.enum(['pending', 'revoked', 'failed', 'manual']),
  revoked: z.boolean(),
  verified: z.boolean(),
  method: z.enum(['flow', 'rfc7009', 'manual']).nullable(),
  at: z.string().nullable().describe('When the revocation ended.'),
  providerStatus: z.number().int().nullable(),
  attempts: z.number().int(),
  manualStep: z.object({ text: z.string(), unregisterURL: z.string().nullable() }).nullable(),
});

export const ErasureSummarySchema = z.object({
  id: z.string(),
  status: z.enum(ERASURE_STATUSES),
  subject: ErasureSubjectSchema,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  total: z.number().int(),
  remaining: z.number().int(),
});

export const ErasureReceiptSchema = ErasureSummarySchema.extend({
  totals: ErasureTotalsSchema,
  connections: z.array(ErasureItemSchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page of connections.'),
});
export type ErasureReceiptBody = z.output<typeof ErasureReceiptSchema>;

export const ErasureIdParamsSchema = z.strictObject({ id: z.string().min(1).max(100) });

export const ErasureReceiptQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  cursor: z.string().min(1).max(200).optional(),
});

export const ListErasureRequestsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(400).optional(),
});

export const ErasureListSchema = z.object({
  items: z.array(ErasureSummarySchema),
  nextCursor: z.string().nullable(),
});

/**
 * `POST /erasure-requests`: GDPR erasure of one person (`externalUserId`), a list of instances, or a tag. Answers 202
 * with the request id at once; the erasure runs as durable jobs (local data erased in batches, then every grant revoked
 * at its provider). `GET /erasure-requests/{id}` is the receipt.
 */
import { defineRoute } from './route.ts';
import { CreateErasureRequestBodySchema, ErasureCreatedSchema } from './contracts/revocation.ts';
import { revocationService } from '../revocation/service.ts';

export default defineRoute({
  method: 'POST',
  url: '/erasure-requests',
  auth: 'org',
  permission: 'erasure:write',
  summary: 'Request the erasure of a person\'s connections',
  tags: ['erasure'],
  schema: { body: CreateErasureRequestBodySchema, response: { 202: ErasureCreatedSchema } },
  async handler({ ctx, principal, body }, reply) {
    const request = await revocationService(ctx).createErasure(principal.orgId, body, principal.userId);
    reply.code(202);
    return { id: request.id, status: request.status };
  },
});

/**
 * `GET /executions/{id}`: one flow execution with every card's inputs, outputs, timing and error (for flows that save
 * their data). Vault values appear as `[redacted]`. Another organization's execution is a 404.
 */
import { PlugboardError } from '../core/errors.ts';
import { defineRoute } from './route.ts';
import { ExecutionDetailSchema, ExecutionIdParamsSchema } from './contracts/executions.ts';
import { getExecution } from '../store/executions.ts';

export default defineRoute({
  method: 'GET',
  url: '/executions/:id',
  auth: 'org',
  permission: 'executions:read',
  summary: 'Get a flow execution with its card records',
  tags: ['executions'],
  schema: { params: ExecutionIdParamsSchema, response: { 200: ExecutionDetailSchema } },
  async handler(request) {
    const execution = await getExecution(request.ctx.store.db, request.principal.orgId, request.params.id);
    if (execution === undefined) throw new PlugboardError('NOT_FOUND', `No execution ${request.params.id} in this organization.`);
    return execution;
  },
});

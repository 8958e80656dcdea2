/**
 * `POST /instances/{id}/flows/{name}/run`: runs one action or helper flow of the instance's connector with the given
 * inputs and the connection's auth object (the access token refreshed first when it is about to expire). HTTP cards go
 * through the SSRF-guarded dispatcher with the connector's own target policy. The execution is recorded in history;
 * the response carries its id and the outputs, with every vault value shown as `[redacted]`. A flow that fails is
 * still a 200 whose `status` is `failed`, so the caller gets the execution id to inspect. System flows (authping,
 * revoke) are not run here: the platform runs them through `POST /instances/{id}/authping` and revocation.
 */
import { PlugboardError } from '../core/errors.ts';
import { assertUsable } from '../core/connection.ts';
import { defineRoute } from './route.ts';
import { FlowRunBodySchema, FlowRunParamsSchema, FlowRunResultSchema } from './contracts/executions.ts';
import { requireConnection, stateOf } from '../store/connections.ts';
import { executionSinkFor } from '../store/executions.ts';
import { resolveConnector } from '../auth/resolve.ts';
import { buildAuthObject, getFreshAccessToken } from '../auth/tokens.ts';
import { outboundDispatcher } from '../proxy/outbound.ts';
import { compileConnectorFlows, createRedactor, runFlow, undiciTransport } from '../flows/index.ts';
import { didYouMean } from '../flows/suggest.ts';

export default defineRoute({
  method: 'POST',
  url: '/instances/:id/flows/:name/run',
  auth: 'org',
  permission: 'executions:write',
  summary: 'Run a flow of the instance\'s connector',
  tags: ['executions'],
  schema: { params: FlowRunParamsSchema, body: FlowRunBodySchema, response: { 200: FlowRunResultSchema } },
  async handler(request) {
    const { ctx } = request;
    const orgId = request.principal.orgId;
    const { id, name } = request.params;
    let row = await requireConnection(ctx.store.db, orgId, id);
    assertUsable(stateOf(row));
    const def = await resolveConnector(ctx, orgId, row.element_key);
    const compiled = compileConnectorFlows(def.flows, { file: `connector ${def.key}`, connectorKey: def.key });
    const runnable = Object.values(compiled.flows).filter((flow) => flow.flowKind === 'action' || flow.flowKind === 'helper');
    const flow = runnable.find((candidate) => candidate.name === name);
    if (flow === undefined) {
      const system = Object.hasOwn(compiled.flows, name) ? ` '${name}' is a system flow: the platform runs it (POST /instances/{id}/authping, revocation).` : '';
      throw new PlugboardError('NOT_FOUND', `Connector '${def.key}' has no action or helper flow '${name}'${didYouMean(name, runnable.map((f) => f.name))}.${system}`);
    }
    if (row.auth_type === 'oauth2_authorization_code' || row.auth_type === 'oauth2_client_credentials') {
      await getFreshAccessToken(ctx, orgId, id);
      row = await requireConnection(ctx.store.db, orgId, id);
    }
    const { auth, secrets } = await buildAuthObject(ctx, orgId, row);
    const result = await runFlow(compiled, flow.name, {
      inputs: request.body.inputs,
      auth: auth as unknown as Record<string, unknown>,
      secrets,
      transport: undiciTransport({ dispatcher: outboundDispatcher({ allowPrivateTargets: def.dangerouslyAllowInsecureTargets.privateNetwork }) }),
      sink: executionSinkFor(ctx.store.db, ctx.config.executions),
      context: { orgId, connectionId: row.id, trigger: 'api' },
    });
    // The caller sees outputs, but never a vault value a flow might return (the error is already redacted).
    const redactor = createRedactor(secrets);
    return {
      executionId: result.executionId,
      status: result.status,
      outputs: result.outputs === null ? null : redactor.redactValue(result.outputs),
      error: result.error === undefined ? null : { code: result.error.code, message: result.error.message, ...(result.error.details === undefined ? {} : { details: result.error.details }) },
      historySaved: result.historySaved ?? false,
    };
  },
});

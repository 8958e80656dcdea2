/**
 * Runs a connector's `_authping` flow (kind `authping`) against one connection, to learn whether its credentials
 * work right after they were stored: on create and on re-authentication. The result sets `valid` through the status
 * state machine (`validate` / `invalidate`, each with its event). Connectors without an authping flow are taken at
 * their word (valid). Flow HTTP goes through the SSRF-guarded dispatcher with the connector's own target policy.
 */
import { compileConnectorFlows, createRedactor, hasAuthping, runAuthping, undiciTransport, type ServiceResponse } from '../flows/index.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import { outboundDispatcher } from '../proxy/outbound.ts';
import { PlugboardError } from '../core/errors.ts';
import { requireConnection, type ConnectionRow } from '../store/connections.ts';
import { executionSinkFor } from '../store/executions.ts';
import { applyConnectionAction, buildAuthObject, getFreshAccessToken, type TokenContext } from './tokens.ts';

export interface AuthpingOutcome {
  /** null when the connector has no authping flow. */
  working: boolean | null;
  message: string;
  executionId: string | null;
  /** The flow's service response (provider status and body, vault values redacted); null when no flow ran. */
  serviceResponse: ServiceResponse | null;
}

export async function authpingConnection(ctx: TokenContext, def: ConnectorDefinition, row: ConnectionRow): Promise<AuthpingOutcome> {
  const compiled = compileConnectorFlows(def.flows, { file: `connector ${def.key}`, connectorKey: def.key });
  if (!hasAuthping(compiled)) return { working: null, message: 'The connector has no authping flow.', executionId: null, serviceResponse: null };
  let current = row;
  if (row.auth_type === 'oauth2_authorization_code' || row.auth_type === 'oauth2_client_credentials') {
    // Imported tokens may be stale: refresh first (under the connection lock) so the ping judges the grant, not an
    // access token that merely expired. A refused refresh has already marked the connection invalid.
    try {
      await getFreshAccessToken(ctx, row.org_id, row.id);
    } catch (error) {
      if (!(error instanceof PlugboardError)) throw error;
      return { working: false, message: error.message, executionId: null, serviceResponse: null };
    }
    current = await requireConnection(ctx.store.db, row.org_id, row.id);
  }
  const { auth, secrets } = await buildAuthObject(ctx, current.org_id, current);
  const result = await runAuthping(compiled, {
    auth: auth as unknown as Record<string, unknown>,
    secrets,
    transport: undiciTransport({ dispatcher: outboundDispatcher({ allowPrivateTargets: def.dangerouslyAllowInsecureTargets.privateNetwork }) }),
    context: { orgId: row.org_id, connectionId: row.id, flow: 'authping', trigger: 'authping' },
    sink: executionSinkFor(ctx.store.db),
  });
  const working = result.outputs.working;
  await applyConnectionAction(ctx, current, working ? { kind: 'validate' } : { kind: 'invalidate', reason: 'authping failed' });
  return { working, message: result.outputs.message, executionId: result.executionId, serviceResponse: createRedactor(secrets).redactValue(result.outputs.serviceResponse) };
}

/**
 * Runs a connector's `_authping` flow (kind `authping`) against one connection, to learn whether its credentials
 * work right after they were stored: on create and on re-authentication. The result sets `valid` through the status
 * state machine (`validate` / `invalidate`, each with its event). Connectors without an authping flow are taken at
 * their word (valid). Flow HTTP goes through the SSRF-guarded dispatcher with the connector's own target policy.
 */
import { compileConnectorFlows, hasAuthping, runAuthping, undiciTransport } from '../flows/index.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import { outboundDispatcher } from '../proxy/outbound.ts';
import type { ConnectionRow } from '../store/connections.ts';
import { applyConnectionAction, buildAuthObject, type TokenContext } from './tokens.ts';

export interface AuthpingOutcome {
  /** null when the connector has no authping flow. */
  working: boolean | null;
  message: string;
  executionId: string | null;
}

export async function authpingConnection(ctx: TokenContext, def: ConnectorDefinition, row: ConnectionRow): Promise<AuthpingOutcome> {
  const compiled = compileConnectorFlows(def.flows, { file: `connector ${def.key}`, connectorKey: def.key });
  if (!hasAuthping(compiled)) return { working: null, message: 'The connector has no authping flow.', executionId: null };
  const { auth, secrets } = await buildAuthObject(ctx, row.org_id, row);
  const result = await runAuthping(compiled, {
    auth: auth as unknown as Record<string, unknown>,
    secrets,
    transport: undiciTransport({ dispatcher: outboundDispatcher({ allowPrivateTargets: def.dangerouslyAllowInsecureTargets.privateNetwork }) }),
    context: { orgId: row.org_id, connectionId: row.id, flow: 'authping' },
  });
  const working = result.outputs.working;
  await applyConnectionAction(ctx, row, working ? { kind: 'validate' } : { kind: 'invalidate', reason: 'authping failed' });
  return { working, message: result.outputs.message, executionId: result.executionId };
}

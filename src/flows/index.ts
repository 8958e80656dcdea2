/**
 * The public face of the flow engine: compile a connector's flows once, run a flow, and run the two system flows with
 * their typed outputs. The platform (revocation, health checks, the flow run endpoint) uses only what is exported here;
 * the connector definition schema embeds `FlowsSchema` from `schema.ts`.
 */
import { PlugboardError } from '../core/errors.ts';
import { runFlow, type RunOptions, type RunResult } from './interpret.ts';
import type { ExecutionStatus } from './history.ts';
import type { CompiledConnectorFlows, CompiledFlow } from './tree.ts';

export { compileConnectorFlows, DEFAULT_MAX_CALL_DEPTH, SYSTEM_FLOW_OUTPUTS, AUTH_FIELDS, type CompileOptions } from './compile.ts';
export { runFlow, SECRET_AUTH_FIELDS, type RunOptions, type RunResult } from './interpret.ts';
export { DEFAULT_LIMITS, type FlowLimits } from './runtime.ts';
export { undiciTransport, handlerTransport, type HttpTransport, type HttpRequest, type HttpResponse, type UndiciTransportOptions } from './transport.ts';
export { MemoryExecutionSink, type ExecutionSink, type ExecutionRecord, type CardRecord, type ExecutionStatus, type RecordedError } from './history.ts';
export { createRedactor, REDACTED, type Redactor } from './redact.ts';
export { FlowsSchema, FlowDefinitionSchema, CardSchema, type FlowDefinition, type CardDef, type FlowValue, type ValueType, type FlowKind } from './schema.ts';
export type { CompiledConnectorFlows, CompiledFlow } from './tree.ts';

export interface ServiceResponse {
  statusCode: number | null;
  body: unknown;
}

export interface AuthpingOutputs {
  working: boolean;
  message: string;
  serviceResponse: ServiceResponse;
}

export interface RevokeOutputs {
  revoked: boolean;
  message: { unregisterURL: string | null; text: string };
  serviceResponse: ServiceResponse;
}

export interface SystemFlowResult<T> {
  /** Always present: when the flow failed, `working`/`revoked` is false and the message says why. */
  outputs: T;
  executionId: string;
  status: ExecutionStatus;
  error?: PlugboardError;
  historySaved?: boolean;
}

export type SystemRunOptions = Omit<RunOptions, 'inputs'>;

export function hasAuthping(compiled: CompiledConnectorFlows): boolean {
  return compiled.authping !== null;
}

export function hasRevoke(compiled: CompiledConnectorFlows): boolean {
  return compiled.revoke !== null;
}

/** Run the connector's authping flow. Throws NOT_FOUND when the connector has none. */
export async function runAuthping(compiled: CompiledConnectorFlows, options: SystemRunOptions = {}): Promise<SystemFlowResult<AuthpingOutputs>> {
  const flow = systemFlow(compiled, compiled.authping, 'authping');
  const result = await runFlow(compiled, flow.name, options);
  const out = result.outputs ?? {};
  return withOutputs(result, {
    working: result.status === 'succeeded' && out.working === true,
    message: typeof out.message === 'string' ? out.message : (result.error?.message ?? ''),
    serviceResponse: serviceResponse(out.serviceResponse, result.error),
  });
}

/**
 * Run the connector's revoke flow. Throws NOT_FOUND when the connector has none. Only `revoked: true` returned by a
 * flow that succeeded counts as revoked; anything else (a failure, a non-boolean) is reported as not revoked.
 */
export async function runRevoke(compiled: CompiledConnectorFlows, options: SystemRunOptions = {}): Promise<SystemFlowResult<RevokeOutputs>> {
  const flow = systemFlow(compiled, compiled.revoke, 'revoke');
  const result = await runFlow(compiled, flow.name, options);
  const out = result.outputs ?? {};
  const message = out.message !== null && typeof out.message === 'object' ? (out.message as Record<string, unknown>) : {};
  return withOutputs(result, {
    revoked: result.status === 'succeeded' && out.revoked === true,
    message: {
      unregisterURL: typeof message.unregisterURL === 'string' ? message.unregisterURL : null,
      text: typeof message.text === 'string' ? message.text : (result.error?.message ?? ''),
    },
    serviceResponse: serviceResponse(out.serviceResponse, result.error),
  });
}

function systemFlow(compiled: CompiledConnectorFlows, flow: CompiledFlow | null, kind: 'authping' | 'revoke'): CompiledFlow {
  if (flow === null) throw new PlugboardError('NOT_FOUND', `connector '${compiled.connectorKey}' has no ${kind} flow`);
  return flow;
}

function serviceResponse(value: unknown, error: PlugboardError | undefined): ServiceResponse {
  if (value !== null && typeof value === 'object') {
    const response = value as Record<string, unknown>;
    return { statusCode: typeof response.statusCode === 'number' ? response.statusCode : null, body: response.body ?? null };
  }
  const provider = error?.providerMessage;
  if (provider !== null && typeof provider === 'object') {
    const response = provider as Record<string, unknown>;
    return { statusCode: typeof response.statusCode === 'number' ? response.statusCode : null, body: response.body ?? null };
  }
  return { statusCode: null, body: null };
}

function withOutputs<T>(result: RunResult, outputs: T): SystemFlowResult<T> {
  const out: SystemFlowResult<T> = { outputs, executionId: result.executionId, status: result.status };
  if (result.error !== undefined) out.error = result.error;
  if (result.historySaved !== undefined) out.historySaved = result.historySaved;
  return out;
}

/**
 * The provider side of one revocation: given the connector and the grant taken from a connection, revoke it the way
 * the connector says (its `revoke` flow; else a standard RFC 7009 revocation at its `revocationUrl`; else nothing is
 * possible and a person must remove the access by hand at the unregister URL), then verify where the connector can
 * tell (RFC 7662 introspection says `active: false`, or the `authping` flow now gets 401). The result says whether to
 * finish, retry (network error, 5xx, 429 with its Retry-After) or report a manual step. Pure of storage: the caller
 * records the result.
 */
import { compileConnectorFlows, hasAuthping, hasRevoke, runAuthping, runRevoke, undiciTransport, type CompiledConnectorFlows, type ExecutionSink, type HttpTransport } from '../flows/index.ts';
import { fillUrlTemplate, type ConnectorDefinition } from '../connectors/schema.ts';
import { outboundDispatcher } from '../proxy/outbound.ts';
import { parseRetryAfter } from '../jobs/backoff.ts';
import type { AuthObject } from '../auth/tokens.ts';
import { classifyRevocationAnswer, introspectionSaysInactive, isDeadTokenAnswer, revokeStandard, type RevocationTarget } from './rfc7009.ts';
import type { RevocationMethod } from '../store/revocations.ts';

/** What a pending revocation holds (sealed) until it ends: the connection's auth object and its connector key. */
export interface Grant {
  elementKey: string;
  auth: AuthObject;
}

export interface ProviderOutcome {
  /** `done`: record and finish; `retry`: transient, try again (after `retryAfterMs` when the provider said). */
  kind: 'done' | 'retry';
  revoked: boolean;
  verified: boolean;
  method: RevocationMethod;
  statusCode: number | null;
  body: unknown;
  message: { text: string; unregisterURL: string | null };
  retryAfterMs?: number;
  /** Why it is not revoked (or must be retried), for the record; never holds a secret. */
  error?: string;
}

/**
 * The outcome when Plugboard cannot revoke at the provider at all: the person must remove access by hand. Final, so
 * never retried; `error` says why for the record.
 */
export function manualStep(message: ProviderOutcome['message'], error: string): ProviderOutcome {
  return { kind: 'done', revoked: false, verified: false, method: 'manual', statusCode: null, body: null, message, error };
}

export interface PerformOptions {
  /** Bound on each provider request. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Labels for the flow execution record. */
  context?: Record<string, string>;
  /** Where the revoke flow's execution is recorded (the store sink). */
  sink?: ExecutionSink;
}

const compiledCache = new WeakMap<ConnectorDefinition, CompiledConnectorFlows>();

function compiledFlows(def: ConnectorDefinition): CompiledConnectorFlows {
  let compiled = compiledCache.get(def);
  if (compiled === undefined) {
    compiled = compileConnectorFlows(def.flows, { file: `connector ${def.key}`, connectorKey: def.key });
    compiledCache.set(def, compiled);
  }
  return compiled;
}

const transports = new Map<boolean, HttpTransport>();
/** Flow HTTP goes through the SSRF-guarded dispatcher; private targets only with the connector's explicit opt-in. */
function flowTransport(def: ConnectorDefinition): HttpTransport {
  const allowPrivate = def.dangerouslyAllowInsecureTargets.privateNetwork;
  let transport = transports.get(allowPrivate);
  if (transport === undefined) {
    transport = undiciTransport({ dispatcher: outboundDispatcher({ allowPrivateTargets: allowPrivate }) });
    transports.set(allowPrivate, transport);
  }
  return transport;
}

function manualText(def: ConnectorDefinition, why: string): string {
  const where = def.unregisterUrl === null ? `in your ${def.name} account settings` : `at ${def.unregisterUrl}`;
  return `${why} Remove Plugboard's access to ${def.name} by hand ${where}.`;
}

export function revocationTarget(def: ConnectorDefinition, configuration: Record<string, unknown>): RevocationTarget | null {
  const auth = def.auth;
  if ((auth.type !== 'oauth2_authorization_code' && auth.type !== 'oauth2_client_credentials') || auth.revocationUrl === undefined) return null;
  return {
    revocationUrl: fillUrlTemplate(auth.revocationUrl, configuration),
    introspectionUrl: auth.introspectionUrl === undefined ? null : fillUrlTemplate(auth.introspectionUrl, configuration),
    clientAuthentication: auth.clientAuthentication,
    allowInsecureRequests: def.dangerouslyAllowInsecureTargets.plainHttp,
    allowPrivateTargets: def.dangerouslyAllowInsecureTargets.privateNetwork,
  };
}

/** How this connector revokes, for previews and documentation: the flow, a standard revocation, or by hand. */
export function revocationMethodOf(def: ConnectorDefinition): RevocationMethod {
  if (hasRevoke(compiledFlows(def))) return 'flow';
  const auth = def.auth;
  const standard = (auth.type === 'oauth2_authorization_code' || auth.type === 'oauth2_client_credentials') && auth.revocationUrl !== undefined;
  return standard ? 'rfc7009' : 'manual';
}

function isTransientStatus(statusCode: number | null): boolean {
  return statusCode === null || statusCode === 408 || statusCode === 429 || statusCode >= 500;
}

/** Wraps a flow transport to remember the last Retry-After a provider sent (flow outputs carry no headers). */
function retryAfterRecorder(inner: HttpTransport): { transport: HttpTransport; retryAfterMs: () => number | undefined } {
  let last: number | undefined;
  return {
    transport: {
      async request(req) {
        const response = await inner.request(req);
        last = parseRetryAfter(response.headers['retry-after']);
        return response;
      },
    },
    retryAfterMs: () => last,
  };
}

async function viaFlow(def: ConnectorDefinition, grant: Grant, options: PerformOptions): Promise<ProviderOutcome> {
  const recorder = retryAfterRecorder(flowTransport(def));
  const result = await runRevoke(compiledFlows(def), {
    auth: grant.auth as unknown as Record<string, unknown>,
    transport: recorder.transport,
    limits: { timeoutMs: options.timeoutMs * 2 },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.context === undefined ? {} : { context: options.context }),
    ...(options.sink === undefined ? {} : { sink: options.sink }),
  });
  const { revoked, message, serviceResponse } = result.outputs;
  const unregisterURL = message.unregisterURL ?? def.unregisterUrl;
  const base = { method: 'flow' as const, statusCode: serviceResponse.statusCode, body: serviceResponse.body, verified: false };
  if (revoked) return { ...base, kind: 'done', revoked: true, message: { text: message.text || 'The token was revoked.', unregisterURL } };
  // An already-dead token is what deletion wants (Google, Salesforce, Adobe Sign answer 400 for it).
  if (isDeadTokenAnswer(serviceResponse.statusCode, serviceResponse.body)) {
    return { ...base, kind: 'done', revoked: true, message: { text: 'The provider reports the token as already invalid: nothing is left to revoke.', unregisterURL } };
  }
  const failed = result.status !== 'succeeded';
  // No HTTP answer: a failed run without a status, or the seed recipe's If Error branch reporting status 0 (network
  // error, timeout). Worth another try, never a refusal.
  const noAnswer = serviceResponse.statusCode === 0 || (serviceResponse.statusCode === null && failed);
  const transient = noAnswer || (serviceResponse.statusCode !== null && isTransientStatus(serviceResponse.statusCode));
  if (transient) {
    return {
      ...base,
      kind: 'retry',
      revoked: false,
      message: { text: manualText(def, 'The revocation could not be completed.'), unregisterURL },
      error: result.error?.message ?? `the provider answered HTTP ${serviceResponse.statusCode}`,
      ...(recorder.retryAfterMs() === undefined ? {} : { retryAfterMs: recorder.retryAfterMs() as number }),
    };
  }
  const text = message.text !== '' ? message.text : manualText(def, 'The provider did not confirm the revocation.');
  return { ...base, kind: 'done', revoked: false, message: { text, unregisterURL }, error: result.error?.message ?? `revoke flow returned revoked: false (HTTP ${serviceResponse.statusCode ?? 'none'})` };
}

async function viaStandard(def: ConnectorDefinition, target: RevocationTarget, grant: Grant, options: PerformOptions): Promise<ProviderOutcome> {
  const tokens = { accessToken: grant.auth.accessToken, refreshToken: grant.auth.refreshToken, clientId: grant.auth.clientId, clientSecret: grant.auth.clientSecret };
  const base = { method: 'rfc7009' as const, verified: false };
  if (tokens.accessToken === null && tokens.refreshToken === null) {
    return { ...base, kind: 'done', revoked: true, statusCode: null, body: null, message: { text: 'The connection held no token: nothing to revoke at the provider.', unregisterURL: def.unregisterUrl } };
  }
  if (tokens.clientId === null) {
    return { ...base, kind: 'done', revoked: false, statusCode: null, body: null, message: { text: manualText(def, 'No OAuth client is known for this connection, so the revocation request cannot be authenticated.'), unregisterURL: def.unregisterUrl }, error: 'no OAuth client' };
  }
  const result = await revokeStandard(target, tokens, options);
  const { answer } = result;
  const common = { ...base, statusCode: answer.statusCode, body: answer.body };
  if (result.kind === 'revoked') {
    const dead = classifyRevocationAnswer(answer) === 'dead';
    return { ...common, kind: 'done', revoked: true, message: { text: dead ? 'The provider reports the token as already invalid: nothing is left to revoke.' : 'The token was revoked at the provider.', unregisterURL: def.unregisterUrl } };
  }
  if (result.kind === 'retry') {
    return {
      ...common,
      kind: 'retry',
      revoked: false,
      message: { text: manualText(def, 'The provider could not be reached or asked to retry later.'), unregisterURL: def.unregisterUrl },
      error: answer.networkError !== undefined ? `network: ${answer.networkError}` : `HTTP ${answer.statusCode}`,
      ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
    };
  }
  return { ...common, kind: 'done', revoked: false, message: { text: manualText(def, `The provider refused the revocation (HTTP ${answer.statusCode}).`), unregisterURL: def.unregisterUrl }, error: `refused: HTTP ${answer.statusCode}` };
}

/** Revokes a grant at the provider. Never throws for provider behaviour; throws only for programming errors. */
export async function revokeAtProvider(def: ConnectorDefinition, grant: Grant, options: PerformOptions): Promise<ProviderOutcome> {
  const compiled = compiledFlows(def);
  if (hasRevoke(compiled)) return viaFlow(def, grant, options);
  const target = revocationTarget(def, grant.auth.configuration);
  if (target !== null) return viaStandard(def, target, grant, options);
  return manualStep({ text: manualText(def, `${def.name} offers no way to revoke access through its API.`), unregisterURL: def.unregisterUrl }, 'no revocation endpoint');
}

/**
 * Checks that the revoked grant is really dead: introspection first (authoritative, RFC 7662 §2.2), else the
 * connector's authping flow with the old access token, expecting 401. False means "could not tell".
 */
export async function verifyRevoked(def: ConnectorDefinition, grant: Grant, options: PerformOptions): Promise<boolean> {
  const target = revocationTarget(def, grant.auth.configuration);
  const tokens = { accessToken: grant.auth.accessToken, refreshToken: grant.auth.refreshToken, clientId: grant.auth.clientId, clientSecret: grant.auth.clientSecret };
  if (target !== null && target.introspectionUrl !== null && tokens.clientId !== null) {
    return introspectionSaysInactive(target, tokens, options);
  }
  const compiled = compiledFlows(def);
  if (hasAuthping(compiled) && grant.auth.accessToken !== null) {
    const result = await runAuthping(compiled, {
      auth: grant.auth as unknown as Record<string, unknown>,
      transport: flowTransport(def),
      limits: { timeoutMs: options.timeoutMs * 2 },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return result.outputs.serviceResponse.statusCode === 401;
  }
  return false;
}

/**
 * Injectable faults and call counters, per sandbox endpoint. A fault imitates what real providers do on a bad day:
 * a fixed 5xx, 429 with Retry-After, added latency, a reset connection, a request that hangs until the client gives
 * up, optionally only on every Nth call or only a limited number of times. Counters record every call per endpoint and
 * per client with the outcome, so tests can assert "exactly one refresh" or "at least one revocation".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const ENDPOINTS = ['metadata', 'authorize', 'token', 'revoke', 'introspect', 'api'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export type FaultKind = 'status' | 'rate_limit' | 'latency' | 'reset' | 'hang';

export interface FaultSpec {
  kind: FaultKind;
  /** `status`: the HTTP status to answer (400-599, default 503). */
  status?: number;
  /** `rate_limit`: seconds sent in Retry-After (default 1). */
  retryAfter?: number;
  /** `latency`: the delay before the normal answer; on other kinds, a delay before the fault. */
  latencyMs?: number;
  /** Apply on calls N, 2N, 3N, ... since the fault was set (default 1: every call). */
  everyNth?: number;
  /** Apply at most this many times, then remove the fault (default: until cleared). */
  times?: number;
  /** Only calls attributed to this client (see the counters) meet the fault; the others pass untouched. */
  clientId?: string;
}

export interface FaultStatus extends FaultSpec {
  endpoint: Endpoint;
  /** Calls seen since the fault was set, and how many of them it hit. */
  calls: number;
  applied: number;
}

export class FaultError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

export function isEndpoint(value: unknown): value is Endpoint {
  return typeof value === 'string' && (ENDPOINTS as readonly string[]).includes(value);
}

function positiveInt(spec: Record<string, unknown>, key: string, max: number): number | undefined {
  const v = spec[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new FaultError(key, `must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate an untrusted fault description (admin API, CLI); throws FaultError naming the bad field. */
export function parseFault(input: unknown): FaultSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new FaultError('fault', 'must be an object like {"kind":"status","status":503}');
  const spec = input as Record<string, unknown>;
  const known = new Set(['kind', 'status', 'retryAfter', 'latencyMs', 'everyNth', 'times', 'clientId']);
  for (const key of Object.keys(spec)) if (!known.has(key)) throw new FaultError(key, `unknown field; expected one of ${[...known].join(', ')}`);
  const kinds: FaultKind[] = ['status', 'rate_limit', 'latency', 'reset', 'hang'];
  if (typeof spec.kind !== 'string' || !(kinds as string[]).includes(spec.kind)) {
    throw new FaultError('kind', `must be one of ${kinds.join(', ')}, got ${JSON.stringify(spec.kind)}`);
  }
  const out: FaultSpec = { kind: spec.kind as FaultKind };
  if (spec.status !== undefined) {
    if (out.kind !== 'status') throw new FaultError('status', 'is only valid with kind "status"');
    const s = spec.status;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 400 || s > 599) throw new FaultError('status', `must be an HTTP error status from 400 to 599, got ${JSON.stringify(s)}`);
    out.status = s;
  }
  if (spec.retryAfter !== undefined) {
    if (out.kind !== 'rate_limit') throw new FaultError('retryAfter', 'is only valid with kind "rate_limit"');
    out.retryAfter = positiveInt(spec, 'retryAfter', 86_400);
  }
  const latency = spec.latencyMs;
  if (latency !== undefined) {
    if (typeof latency !== 'number' || !Number.isInteger(latency) || latency < 0 || latency > 600_000) {
      throw new FaultError('latencyMs', `must be an integer from 0 to 600000, got ${JSON.stringify(latency)}`);
    }
    out.latencyMs = latency;
  } else if (out.kind === 'latency') {
    throw new FaultError('latencyMs', 'is required with kind "latency"');
  }
  const nth = positiveInt(spec, 'everyNth', 1_000_000);
  if (nth !== undefined) out.everyNth = nth;
  const times = positiveInt(spec, 'times', 1_000_000);
  if (times !== undefined) out.times = times;
  if (spec.clientId !== undefined) {
    if (typeof spec.clientId !== 'string' || spec.clientId === '') throw new FaultError('clientId', 'must be a non-empty client id');
    out.clientId = spec.clientId;
  }
  return out;
}

interface ActiveFault {
  spec: FaultSpec;
  calls: number;
  applied: number;
}

export type FaultDecision = { spec: FaultSpec } | null;

export class FaultBoard {
  private readonly faults = new Map<Endpoint, ActiveFault>();
  /** Responses held open by `hang`, ended when the sandbox closes. */
  readonly hung = new Set<ServerResponse>();

  set(endpoint: Endpoint, spec: FaultSpec): void {
    this.faults.set(endpoint, { spec: parseFault(spec), calls: 0, applied: 0 });
  }

  clear(endpoint?: Endpoint): void {
    if (endpoint) this.faults.delete(endpoint);
    else this.faults.clear();
  }

  list(): FaultStatus[] {
    return [...this.faults].map(([endpoint, f]) => ({ endpoint, ...f.spec, calls: f.calls, applied: f.applied }));
  }

  /** Count a call against the endpoint's fault and say whether this call is hit. */
  decide(endpoint: Endpoint, clientId: string | null): FaultDecision {
    if (this.faults.size === 0) return null;
    const active = this.faults.get(endpoint);
    if (!active) return null;
    if (active.spec.clientId !== undefined && active.spec.clientId !== clientId) return null;
    active.calls += 1;
    if (active.calls % (active.spec.everyNth ?? 1) !== 0) return null;
    active.applied += 1;
    if (active.spec.times !== undefined && active.applied >= active.spec.times) this.faults.delete(endpoint);
    return { spec: active.spec };
  }

  /**
   * Carry out a fault. Returns the outcome recorded in the counters, or `'continue'` when the request should now be
   * served normally (latency). Resolves after any added latency.
   */
  async apply(spec: FaultSpec, req: IncomingMessage, res: ServerResponse): Promise<string | 'continue'> {
    if (spec.latencyMs) await new Promise((r) => setTimeout(r, spec.latencyMs));
    switch (spec.kind) {
      case 'latency':
        return 'continue';
      case 'status': {
        const status = spec.status ?? 503;
        const text = JSON.stringify({ error: status >= 500 ? 'temporarily_unavailable' : 'invalid_request', error_description: `sandbox fault: HTTP ${status}` });
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return String(status);
      }
      case 'rate_limit': {
        const text = JSON.stringify({ error: 'rate_limited', error_description: 'sandbox fault: too many requests' });
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(spec.retryAfter ?? 1), 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return '429';
      }
      case 'reset':
        // A TCP RST, as when a provider's load balancer drops the connection mid-request.
        req.socket.resetAndDestroy();
        return 'reset';
      case 'hang':
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        return 'hang';
    }
  }
}

interface CallCount {
  calls: number;
  outcomes: Record<string, number>;
}

export interface EndpointCounters extends CallCount {
  clients: Record<string, CallCount>;
}

/** The key under which calls that name no known client are counted. */
export const ANONYMOUS_CLIENT = '-';

export class CallCounters {
  private data: Partial<Record<Endpoint, EndpointCounters>> = {};

  record(endpoint: Endpoint, clientId: string | null, outcome: string): void {
    let e = this.data[endpoint];
    if (!e) {
      e = { calls: 0, outcomes: {}, clients: {} };
      this.data[endpoint] = e;
    }
    e.calls += 1;
    e.outcomes[outcome] = (e.outcomes[outcome] ?? 0) + 1;
    const key = clientId ?? ANONYMOUS_CLIENT;
    let c = e.clients[key];
    if (!c) {
      c = { calls: 0, outcomes: {} };
      e.clients[key] = c;
    }
    c.calls += 1;
    c.outcomes[outcome] = (c.outcomes[outcome] ?? 0) + 1;
  }

  /** A deep copy, so callers cannot change the live counters. */
  snapshot(): Partial<Record<Endpoint, EndpointCounters>> {
    return structuredClone(this.data);
  }

  /** Calls to an endpoint, optionally by one client and with one outcome (an HTTP status such as '200', or 'reset'). */
  count(endpoint: Endpoint, filter: { clientId?: string; outcome?: string } = {}): number {
    const e = this.data[endpoint];
    if (!e) return 0;
    const scope = filter.clientId === undefined ? e : e.clients[filter.clientId];
    if (!scope) return 0;
    return filter.outcome === undefined ? scope.calls : (scope.outcomes[filter.outcome] ?? 0);
  }

  reset(): void {
    this.data = {};
  }
}

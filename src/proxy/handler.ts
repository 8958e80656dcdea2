/**
 * The HTTP side of a proxied call, shared by `ANY /instances/{id}/proxy/*` (organization credentials) and
 * `ANY /proxy/*` (`User <secret>, Element <instanceToken>`), whichever serves it: the lean path in front of Fastify
 * (`fast-path.ts`) or the Fastify routes. Split the raw request URL into the provider path and query (taken from the
 * raw URL, not the decoded route parameter, so percent-encoding reaches the provider unchanged), open the connection,
 * forward with the request body streamed, and hand back the provider's answer to stream to the caller. A caller that
 * disconnects aborts the upstream request.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.ts';
import { forwardRequest, NO_RETRIES, retryOptionsFrom, type ForwardResult } from './forward.ts';
import { openProxyConnection, openProxyConnectionNow } from './connection.ts';
import { UsageRecorder } from './usage.ts';

/** HTTP methods the proxy forwards (HEAD is answered through GET by the server). */
export const PROXY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const usage = new UsageRecorder();

/** The provider path and query of a proxy request URL; `skipSegments` is how many path segments precede the path. */
export function splitProxyUrl(rawUrl: string, skipSegments: number): { path: string; query: string } {
  const q = rawUrl.indexOf('?');
  const end = q === -1 ? rawUrl.length : q;
  // The provider path starts at the slash that ends the `skipSegments`-th segment (`/instances/{id}/proxy` is 3).
  let start = 0;
  for (let i = 0; i < skipSegments && start !== -1; i++) start = rawUrl.indexOf('/', start + 1);
  const path = start === -1 || start >= end ? '/' : rawUrl.slice(start, end);
  return { path, query: q === -1 ? '' : rawUrl.slice(q + 1) };
}

function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return raw.headers['transfer-encoding'] !== undefined;
}

/** The request logger's one method the proxy uses (the request id is among its bindings). */
export interface ProxyCallLog {
  debug(fields: object, message: string): void;
}

/** One call: who (organization, instance), which request and response, and the request's logger. */
export interface ProxyCallTarget {
  ctx: AppContext;
  orgId: string;
  instanceId: string;
  /** Path segments before the provider path: 3 for /instances/{id}/proxy, 1 for /proxy. */
  skipSegments: number;
  raw: IncomingMessage;
  res: ServerResponse;
  log: ProxyCallLog;
  /**
   * The SQLite change stamp the caller read in the same synchronous turn as this call (no await in between), so the
   * connection cache checks against it instead of reading it again; absent otherwise.
   */
  stamp?: string | undefined;
}

/**
 * Opens the connection (404 outside the organization, 409 when disabled or revoked), reads the caller's retry header
 * against the connector's default, forwards, and records the use. Resolves with the provider's answer, still to be
 * streamed; every refusal is a thrown PlugboardError.
 */
export async function proxyCall(call: ProxyCallTarget): Promise<ForwardResult> {
  const { ctx, raw, res } = call;
  const { path, query } = splitProxyUrl(raw.url ?? '/', call.skipSegments);
  const options = { refreshFailureLimit: ctx.config.health.refreshFailureLimit };
  const connection = openProxyConnectionNow(ctx, call.orgId, call.instanceId, options, call.stamp) ?? (await openProxyConnection(ctx, call.orgId, call.instanceId, options));
  // The connector's default (`proxy.retries`), which the caller's X-Plugboard-Retry header overrides either way.
  const connectorRetries = connection.connector.proxy.retries;
  const retry = retryOptionsFrom(raw.headers, connectorRetries === 0 ? NO_RETRIES : { ...NO_RETRIES, maxRetries: connectorRetries });
  // Nobody is left to read the answer: stop waiting for the provider (and release its socket). An EventEmitter is
  // the lightest signal undici accepts; it emits 'abort' once.
  const callerGone = new EventEmitter();
  res.once('close', () => {
    if (!res.writableFinished) callerGone.emit('abort');
  });
  const result = await forwardRequest({
    method: raw.method ?? 'GET',
    path,
    query,
    headers: raw.headers,
    body: hasBody(raw) ? raw : null,
    target: connection.target,
    credentials: connection.credentials,
    retry,
    signal: callerGone,
  });
  usage.touch(ctx.store.db, call.orgId, call.instanceId, ctx.log);
  call.log.debug({ instanceId: call.instanceId, status: result.statusCode, attempts: result.attempts, refreshed: result.refreshed }, 'proxied call');
  return result;
}

export interface ProxyCall {
  ctx: AppContext;
  orgId: string;
  instanceId: string;
  /** Path segments before the provider path: 3 for /instances/{id}/proxy, 1 for /proxy. */
  skipSegments: number;
  request: FastifyRequest;
  reply: FastifyReply;
}

/** The Fastify routes' handler (requests the fast path hands over): forward, then stream the answer through the reply. */
export async function handleProxyCall(call: ProxyCall): Promise<FastifyReply> {
  const { request, reply } = call;
  const result = await proxyCall({ ctx: call.ctx, orgId: call.orgId, instanceId: call.instanceId, skipSegments: call.skipSegments, raw: request.raw, res: reply.raw, log: request.log });
  void reply.code(result.statusCode).headers(result.headers);
  return reply.send(result.body);
}

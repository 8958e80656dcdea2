/**
 * The HTTP side of a proxied call, shared by `ANY /instances/{id}/proxy/*` (organization credentials) and
 * `ANY /proxy/*` (`User <secret>, Element <instanceToken>`): split the raw request URL into the provider path and
 * query (taken from the raw URL, not the decoded route parameter, so percent-encoding reaches the provider
 * unchanged), open the connection, forward with the request body streamed, and stream the provider's answer back.
 * A caller that disconnects aborts the upstream request.
 */

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AppContext } from '../context.ts';
import { forwardRequest, NO_RETRIES, retryOptionsFrom } from './forward.ts';
import { openProxyConnection } from './connection.ts';
import { UsageRecorder } from './usage.ts';

/** HTTP methods the proxy forwards (HEAD is answered through GET by the server). */
export const PROXY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const usage = new UsageRecorder();

/** The provider path and query of a proxy request URL; `skipSegments` is how many path segments precede the path. */
export function splitProxyUrl(rawUrl: string, skipSegments: number): { path: string; query: string } {
  const q = rawUrl.indexOf('?');
  const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  const segments = pathname.split('/');
  return { path: `/${segments.slice(skipSegments + 1).join('/')}`, query };
}

function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return raw.headers['transfer-encoding'] !== undefined;
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

export async function handleProxyCall(call: ProxyCall): Promise<FastifyReply> {
  const { ctx, request, reply } = call;
  const raw = request.raw;
  const { path, query } = splitProxyUrl(raw.url ?? '/', call.skipSegments);
  const connection = await openProxyConnection(ctx, call.orgId, call.instanceId, { refreshFailureLimit: ctx.config.health.refreshFailureLimit });
  // The connector's default (`proxy.retries`), which the caller's X-Plugboard-Retry header overrides either way.
  const retry = retryOptionsFrom(request.headers, { ...NO_RETRIES, maxRetries: connection.connector.proxy.retries });
  const abort = new AbortController();
  const onClose = () => {
    // Nobody is left to read the answer: stop waiting for the provider.
    if (!reply.raw.writableFinished) abort.abort();
  };
  reply.raw.once('close', onClose);
  const result = await forwardRequest({
    method: request.method,
    path,
    query,
    headers: request.headers,
    body: hasBody(raw) ? raw : null,
    target: connection.target,
    credentials: connection.credentials,
    retry,
    signal: abort.signal,
  });
  usage.touch(ctx.store.db, call.orgId, call.instanceId, (err) => ctx.log.warn({ err, instanceId: call.instanceId }, 'could not record connection use'));
  request.log.debug({ instanceId: call.instanceId, status: result.statusCode, attempts: result.attempts, refreshed: result.refreshed }, 'proxied call');
  void reply.code(result.statusCode).headers(result.headers);
  return reply.send(result.body);
}

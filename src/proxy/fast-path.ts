/**
 * The lean path of proxied calls: `ANY /instances/{id}/proxy/*` (organization credentials) and `ANY /proxy/*`
 * (`User <secret>, Element <instanceToken>`) served from the raw `node:http` request, in front of Fastify's routing,
 * hooks and reply machinery, which cost more CPU than the rest of a proxied call. It does what the Fastify routes do
 * (`src/api/anyInstanceProxy.ts`, `src/api/anyElementProxy.ts`, which stay mounted for the OpenAPI document and as the
 * fallback): the request id (`X-Request-Id`, in every error body), authentication with the same function (secret
 * hashed and compared in constant time on every request), the `instances:write` permission, tenant isolation and the
 * connection checks (`proxyCall`), refresh and retry, header sanitising, streamed bodies both ways, HEAD, the one
 * error body, the same log lines at the same levels, and graceful shutdown (in-flight calls are counted and drained;
 * once closing begins every request goes to Fastify, which refuses it as it always has).
 *
 * What it does not recognise cheaply it hands to Fastify untouched, before reading anything: no Authorization header
 * (a browser reloading a console page, or a plain 401), a path with percent-encoding or a fragment (Fastify decodes or
 * refuses it), an empty or over-long id, an empty provider path, a method the routes do not have, a request body whose
 * Content-Type is not a plain `type/subtype` (Fastify's 415 check), and every request once shutdown has begun.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Logger } from '../log.ts';
import { authenticate, authenticateNow } from '../api/authenticate.ts';
import { missingPermission, requestIdOf } from '../api/route.ts';
import { errorBody, reportedError } from '../api/error-body.ts';
import { changeStampOf } from '../store/sqlite/database.ts';
import { proxyCall, type ProxyCallLog } from './handler.ts';
import type { ForwardResult } from './forward.ts';

/** Methods of the proxy routes, HEAD included (Fastify serves HEAD through the GET route). */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Methods for which Fastify checks a Content-Type before the handler runs (its `bodywith` methods). */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** A Content-Type Fastify accepts as valid (`type/subtype`, optional parameters); anything else goes to Fastify. */
const PLAIN_CONTENT_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(?:;|$)/;
/** The router's limit on a path parameter (`maxParamLength` in server.ts); a longer id goes to Fastify. */
const MAX_ID_LENGTH = 500;

const INSTANCES_PREFIX = '/instances/';
const PROXY_SEGMENT = '/proxy/';

/** `ELEMENT` for `/proxy/*`, the instance id for `/instances/{id}/proxy/*`, null for anything else. */
const ELEMENT = Symbol('element');
type Route = string | typeof ELEMENT | null;

/** Recognises the two proxy URLs without allocating, except the id itself. */
export function proxyRouteOf(url: string): Route {
  const q = url.indexOf('?');
  const end = q === -1 ? url.length : q;
  const percent = url.indexOf('%');
  if (percent !== -1 && percent < end) return null;
  const hash = url.indexOf('#');
  if (hash !== -1 && hash < end) return null;
  if (url.startsWith(PROXY_SEGMENT)) return end > PROXY_SEGMENT.length ? ELEMENT : null;
  if (!url.startsWith(INSTANCES_PREFIX)) return null;
  const slash = url.indexOf('/', INSTANCES_PREFIX.length);
  if (slash === -1 || slash >= end) return null;
  const idLength = slash - INSTANCES_PREFIX.length;
  if (idLength < 1 || idLength > MAX_ID_LENGTH || !url.startsWith(PROXY_SEGMENT, slash)) return null;
  // `/instances/{id}/proxy/` itself is not a route (Fastify trims the trailing slash and finds nothing).
  if (end <= slash + PROXY_SEGMENT.length) return null;
  return url.slice(INSTANCES_PREFIX.length, slash);
}

/** The request's logger, created only when a line is actually written (most calls log nothing at info). */
class CallLog implements ProxyCallLog {
  readonly #base: Logger;
  readonly #requestId: string;
  #child: Logger | undefined;

  constructor(base: Logger, requestId: string) {
    this.#base = base;
    this.#requestId = requestId;
  }

  #logger(): Logger {
    return (this.#child ??= this.#base.child({ requestId: this.#requestId }));
  }

  debug(fields: object, message: string): void {
    if (this.#base.isLevelEnabled('debug')) this.#logger().debug(fields, message);
  }

  warn(fields: object, message: string): void {
    if (this.#base.isLevelEnabled('warn')) this.#logger().warn(fields, message);
  }

  error(fields: object, message: string): void {
    if (this.#base.isLevelEnabled('error')) this.#logger().error(fields, message);
  }
}

const noop = () => undefined;

export class ProxyFastPath {
  readonly #ctx: AppContext;
  /** Whether each finished request gets its debug line (decided once, as the server decides for its own hook). */
  readonly #logCompleted: boolean;
  #closing = false;
  #inFlight = 0;
  #drained: (() => void) | null = null;
  #closed: Promise<void> | null = null;

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
    this.#logCompleted = ctx.log.isLevelEnabled('debug');
  }

  /** Calls still being handled (from the first byte read to the provider's answer handed to the response). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Refuses new calls from now on (they go to Fastify); resolves once the in-flight ones are done. */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= this.#inFlight === 0 ? Promise.resolve() : new Promise((resolve) => {
      this.#drained = resolve;
    });
    return this.#closed;
  }

  /** Serves the request if it is a proxy call this path handles; false hands it to Fastify untouched. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#closing || this.#ctx.shuttingDown) return false;
    const method = req.method;
    const authorization = req.headers.authorization;
    if (method === undefined || !METHODS.has(method) || authorization === undefined) return false;
    const route = proxyRouteOf(req.url ?? '');
    if (route === null) return false;
    if (BODY_METHODS.has(method)) {
      const type = req.headers['content-type'];
      if (type !== undefined && !PLAIN_CONTENT_TYPE.test(type)) return false;
    }
    this.#inFlight++;
    void this.#serve(req, res, route, authorization);
    return true;
  }

  async #serve(req: IncomingMessage, res: ServerResponse, route: string | typeof ELEMENT, authorization: string): Promise<void> {
    const ctx = this.#ctx;
    const started = this.#logCompleted ? performance.now() : 0;
    const requestId = requestIdOf(req.headers['x-request-id']);
    const log = new CallLog(ctx.log, requestId);
    if (this.#logCompleted) {
      const url = route === ELEMENT ? '/proxy/*' : '/instances/:id/proxy/*';
      const completed = () => log.debug({ method: req.method, url, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request completed');
      res.once('finish', completed);
      res.once('error', completed);
    }
    try {
      let orgId: string;
      let instanceId: string;
      let stamp: string | undefined;
      if (route === ELEMENT) {
        const principal = await authenticate(ctx, authorization, 'element');
        orgId = principal.orgId;
        instanceId = principal.instanceId as string;
      } else {
        // Synchronously when the key is in the cache (the secret is still hashed and compared), else from the store.
        // On SQLite one read of the change stamp then serves the key cache and the connection cache: nothing awaits
        // between here and the connection lookup at the start of proxyCall, so no write can land in between.
        const sameTurn = changeStampOf(ctx.store.db)?.();
        const cached = authenticateNow(ctx, authorization, 'org', sameTurn);
        const principal = cached ?? (await authenticate(ctx, authorization, 'org'));
        if (cached !== null) stamp = sameTurn;
        const denied = missingPermission(principal, 'instances:write');
        if (denied !== null) throw denied;
        orgId = principal.orgId;
        instanceId = route;
      }
      const result = await proxyCall({ ctx, orgId, instanceId, skipSegments: route === ELEMENT ? 1 : 3, raw: req, res, log, stamp });
      this.#send(req, res, result, requestId, log);
    } catch (error) {
      this.#sendError(res, error, requestId, log);
    } finally {
      if (--this.#inFlight === 0 && this.#drained !== null) this.#drained();
    }
  }

  /**
   * The provider's answer, as Fastify's reply sends a stream: status and headers go out with the first byte of the
   * body (so a body that fails before it still gets the error answer), then the body, with backpressure. Every answer
   * is one `writeHead` with all its headers (the request id among them): no header is set on its own.
   */
  #send(req: IncomingMessage, res: ServerResponse, result: ForwardResult, requestId: string, log: CallLog): void {
    const { statusCode, headers, body } = result;
    headers['x-request-id'] = requestId;
    if (req.method === 'HEAD') {
      // No body for HEAD: the provider's headers (its Content-Length included) and nothing else.
      body.on('error', (err) => log.error({ err }, 'Error on Stream found for HEAD route'));
      body.resume();
      res.writeHead(statusCode, headers).end();
      return;
    }
    if (statusCode === 204 || statusCode < 200) {
      // RFC 9110 §8.6: no Content-Type or Content-Length on a response that has no content.
      delete headers['content-type'];
      delete headers['content-length'];
      res.writeHead(statusCode, headers).end();
      body.on('error', noop);
      body.resume();
      return;
    }
    let headWritten = false;
    const resume = () => body.resume();
    body.on('data', (chunk: Buffer) => {
      if (!headWritten) {
        headWritten = true;
        res.writeHead(statusCode, headers);
      }
      if (!res.write(chunk)) {
        body.pause();
        res.once('drain', resume);
      }
    });
    body.on('end', () => {
      if (!headWritten) {
        headWritten = true;
        res.writeHead(statusCode, headers);
      }
      res.end();
    });
    // A caller that goes away aborts the provider request (`proxyCall`), which destroys this body with an error.
    body.on('error', (err) => {
      if (headWritten || req.destroyed) res.destroy();
      else this.#sendError(res, err, requestId, log);
    });
  }

  /** The one error body, logged as the server's error handler logs it. */
  #sendError(res: ServerResponse, raw: unknown, requestId: string, log: CallLog): void {
    const ctx = this.#ctx;
    const error = reportedError(raw, ctx.config.bodyLimit, log, requestId);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(errorBody(error, requestId, ctx.secrets));
    const headers: Record<string, string | number> = { ...error.headers };
    headers['x-request-id'] = requestId;
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(error.status, headers).end(text);
  }
}

/**
 * Puts the fast path in front of Fastify's request handler on the app's HTTP server. Every request it does not serve
 * reaches Fastify exactly as before. Closing the app stops the fast path first (new calls go to Fastify, which
 * refuses them while closing), and the close waits for the calls still in flight.
 */
export function mountProxyFastPath(app: FastifyInstance, ctx: AppContext): ProxyFastPath {
  const fastPath = new ProxyFastPath(ctx);
  const server = app.server;
  const fastify = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (fastify.length !== 1) throw new Error(`the proxy fast path expects one request listener on the server, found ${fastify.length}`);
  const handler = fastify[0];
  server.removeListener('request', handler);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!fastPath.handle(req, res)) handler(req, res);
  });
  app.addHook('preClose', (done) => {
    void fastPath.close();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    fastPath.close().then(() => done(), done);
  });
  return fastPath;
}

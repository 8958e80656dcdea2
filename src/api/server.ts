/**
 * The HTTP server: Fastify with Zod validation, every endpoint file of `src/api/` discovered and mounted, one error
 * body everywhere, request ids, authentication per route, the OpenAPI 3.1 document and its reference page, and the
 * built console served at `/`. `buildServer` returns an unstarted Fastify instance; `src/app.ts` starts it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyServerOptions, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { PlugboardError } from '../core/errors.ts';
import type { AppContext } from '../context.ts';
import { authenticate, authenticateNow } from './authenticate.ts';
import { errorBody, errorBodySchema, reportedError } from './error-body.ts';
import { isRouteDefinition, missingPermission, requestIdOf, type AuthMode, type Principal, type RouteDefinition, type RouteRequest, type RouteSchema } from './route.ts';
import { renderReferencePage } from './reference-page.ts';
import { mountProxyFastPath } from '../proxy/fast-path.ts';

const API_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROUTE_FILE = /^(get|post|put|patch|delete|head|options|any)[A-Z][A-Za-z0-9]*\.ts$/;
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** A mounted route, as the security tests enumerate them. */
export interface MountedRoute {
  file: string;
  methods: string[];
  url: string;
  auth: AuthMode;
  permission?: string;
}

/** Loads every route file of `src/api/` (sorted, so the OpenAPI document is stable). */
export async function discoverRoutes(dir = API_DIR): Promise<Array<{ file: string; route: RouteDefinition }>> {
  const files = (await readdir(dir)).filter((f) => ROUTE_FILE.test(f)).sort();
  // Imported together, so the loader reads and compiles the files of independent routes concurrently (start-up time).
  const modules = (await Promise.all(files.map((file) => import(pathToFileURL(path.join(dir, file)).href)))) as Array<{ default?: unknown }>;
  return files.map((file, i) => {
    const route = modules[i].default;
    if (!isRouteDefinition(route)) throw new Error(`src/api/${file} must \`export default defineRoute({...})\``);
    return { file, route };
  });
}

const SECURITY: Record<Exclude<AuthMode, 'none'>, Array<Record<string, string[]>>> = {
  org: [{ apiKey: [] }, { userOrganization: [] }],
  element: [{ userElement: [] }],
};

function isBrowserNavigation(request: FastifyRequest): boolean {
  return request.method === 'GET' && request.headers['sec-fetch-mode'] === 'navigate' && (request.headers.accept ?? '').includes('text/html');
}

export interface BuiltServer {
  app: FastifyInstance;
  routes: MountedRoute[];
}

// Fastify types its compiler factories for JSON Schema; these return the Zod compilers, which take every route schema.
const ZOD_COMPILERS = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

export async function buildServer(ctx: AppContext): Promise<BuiltServer> {
  const { config } = ctx;
  const app = Fastify({
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    childLoggerFactory: (logger, bindings, options) => lazyChildLogger(logger, bindings, options),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimit,
    genReqId: (req) => requestIdOf(req.headers['x-request-id']),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Every schema is Zod: the Zod compilers are the factories, so Fastify never loads its default Ajv and
    // fast-json-stringify compilers (about 150 modules, a sizeable part of start-up).
    schemaController: { compilersFactory: ZOD_COMPILERS },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  // Proxy calls are served in front of Fastify's routing (src/proxy/fast-path.ts); every other request reaches it untouched.
  mountProxyFastPath(app, ctx);

  // Bodies of other types reach only routes that opt in (`anyContentType`); the rest answer 415 below.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => done(null, body));

  const webIndex = path.join(config.webDir, 'index.html');
  const hasConsole = existsSync(webIndex);

  // Callback style: it never awaits, and an async hook costs a promise on every request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (ctx.shuttingDown) done(new PlugboardError('SHUTTING_DOWN', 'The server is shutting down; retry on another instance or after restart', { headers: { 'retry-after': '5' } }));
    else done();
  });
  // One line per request at debug level; the hook is not even installed otherwise (it is on every request's path).
  if (ctx.log.isLevelEnabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug({ method: request.method, url: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed');
    });
  }

  app.setErrorHandler((rawError, request, reply) => {
    const error = reportedError(rawError, config.bodyLimit, request.log, request.id);
    for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
    void reply.code(error.status).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(error, request.id, ctx.secrets)));
  });

  // Filled below as routes mount; read by the not-found handler to tell 405 from 404.
  const mounted: MountedRoute[] = [];
  app.setNotFoundHandler((request, reply) => {
    const accept = request.headers.accept ?? '';
    if (hasConsole && request.method === 'GET' && accept.includes('text/html')) {
      return reply.type('text/html; charset=utf-8').sendFile('index.html');
    }
    const pathname = request.url.split('?')[0];
    const allowed = allowedMethods(mounted, pathname);
    if (allowed.length > 0) {
      const error = new PlugboardError('METHOD_NOT_ALLOWED', `${pathname} does not accept ${request.method}; it accepts ${allowed.join(', ')}`);
      return reply.code(405).header('allow', allowed.join(', ')).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(error, request.id, ctx.secrets)));
    }
    const error = new PlugboardError('ROUTE_NOT_FOUND', `No endpoint ${request.method} ${pathname}; the API reference is at /docs`);
    return reply.code(404).type('application/json; charset=utf-8').send(JSON.stringify(errorBody(error, request.id, ctx.secrets)));
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Plugboard API', version: PACKAGE_VERSION, description: 'Connect, call, re-authenticate and provably revoke third-party API connections.' },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer pb_...`' },
          userOrganization: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`User <userSecret>, Organization <orgSecret>`' },
          userElement: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`User <userSecret>, Element <instanceToken>`: calls scoped to one connection' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  if (hasConsole) {
    // Loaded only when there is a console to serve.
    const { default: fastifyStatic } = await import('@fastify/static');
    await app.register(fastifyStatic, { root: config.webDir, prefix: '/', wildcard: false, index: ['index.html'] });
  }

  const discovered = await discoverRoutes();
  // Streaming routes (the proxy) live in their own scope whose only content-type parser leaves the body unread.
  const streamed = discovered.filter(({ route }) => route.streamBody === true);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req: FastifyRequest, payload: unknown, done: (err: Error | null, body?: unknown) => void) => done(null, payload));
    for (const { route } of streamed) mountRoute(scope, ctx, route, hasConsole);
  });
  for (const { file, route } of discovered) {
    if (route.streamBody !== true) mountRoute(app, ctx, route, hasConsole);
    const entry: MountedRoute = { file, methods: Array.isArray(route.method) ? route.method : [route.method], url: route.url, auth: route.auth };
    if (route.permission !== undefined) entry.permission = route.permission;
    mounted.push(entry);
  }

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const referencePage = renderReferencePage();
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'").send(referencePage));

  return { app, routes: mounted };
}

function mountRoute(app: FastifyInstance, ctx: AppContext, route: RouteDefinition, hasConsole: boolean): void {
  const schema: RouteSchema & Record<string, unknown> = {
    ...route.schema,
    response: { ...errorResponses(route.auth), ...route.schema.response },
  };
  if (route.summary !== undefined) schema.summary = route.summary;
  if (route.description !== undefined) schema.description = route.description;
  if (route.tags !== undefined) schema.tags = route.tags;
  if (route.hidden === true) schema.hide = true;
  if (route.auth !== 'none') schema.security = SECURITY[route.auth];

  app.route({
    method: route.method,
    url: route.url,
    schema,
    ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
    ...(route.auth === 'none' ? {} : { onRequest: authenticationHook(ctx, route.auth, route.permission, hasConsole) }),
    // Only routes that take a body need the content-type check (one hook less on every GET).
    ...(route.schema.body === undefined || route.anyContentType === true ? {} : { preValidation: async (request: FastifyRequest) => {
      if (request.body === undefined) return;
      const type = request.headers['content-type'];
      if (Buffer.isBuffer(request.body) || (type !== undefined && !/^application\/([\w.+-]*\+)?json\b/i.test(type))) {
        throw new PlugboardError('UNSUPPORTED_MEDIA_TYPE', `This endpoint accepts only application/json request bodies, got ${request.headers['content-type'] ?? 'no Content-Type'}`);
      }
    } }),
    handler: (request: FastifyRequest, reply: FastifyReply) => {
      const routeRequest: RouteRequest<RouteSchema, AuthMode> = {
        params: request.params,
        query: request.query,
        body: request.body,
        headers: request.headers,
        principal: request.principal as never,
        ctx,
        id: request.id,
        log: request.log as unknown as RouteRequest<RouteSchema, AuthMode>['log'],
        raw: request,
      };
      // A plain function returning the handler's promise: an async wrapper would add a promise and a tick per request.
      return route.handler(routeRequest as never, reply).then((result) => (result === reply || reply.sent ? reply : result));
    },
  });
}

type HookDone = (error?: Error) => void;

/**
 * The route hook that authenticates the caller and checks the route's permission, before the body is read. Callback
 * style, resolving synchronously when the credentials are in the per-process cache (`authenticateNow`), so the hot
 * path of an authenticated read allocates no promise here; otherwise `authenticate` reads the store.
 */
function authenticationHook(ctx: AppContext, auth: Exclude<AuthMode, 'none'>, permission: RouteDefinition['permission'], hasConsole: boolean) {
  const admit = (request: FastifyRequest, principal: Principal, done: HookDone): void => {
    const denied = permission === undefined ? null : missingPermission(principal, permission);
    if (denied !== null) {
      done(denied);
      return;
    }
    request.principal = principal;
    done();
  };
  return (request: FastifyRequest, reply: FastifyReply, done: HookDone): void => {
    const header = request.headers.authorization;
    // A browser reloading a console page whose path is also an API path gets the console, not a 401 (the hook ends
    // the request by answering: `done` is not called).
    if (hasConsole && header === undefined && isBrowserNavigation(request)) {
      void reply.type('text/html; charset=utf-8').sendFile('index.html');
      return;
    }
    const principal = authenticateNow(ctx, header, auth);
    if (principal !== null) admit(request, principal, done);
    else authenticate(ctx, header, auth).then((resolved) => admit(request, resolved, done), done);
  };
}

type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * The per-request logger, created only when a request actually logs: building a pino child (bindings serialised
 * through redaction) on every request is a large share of the CPU of a fast authenticated read, and most requests
 * log nothing at the default level. A class, so each request allocates one small object rather than a set of closures.
 */
class LazyRequestLogger {
  readonly #base: FastifyBaseLogger;
  readonly #bindings: Record<string, unknown>;
  readonly #options: object;
  #child: FastifyBaseLogger | undefined;

  constructor(base: FastifyBaseLogger, bindings: Record<string, unknown>, options: object) {
    this.#base = base;
    this.#bindings = bindings;
    this.#options = options;
  }

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.#base.child(this.#bindings, this.#options));
  }

  #log(level: LogLevelName, args: unknown[]): void {
    if (this.#child === undefined && !(this.#base as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled(level)) return;
    (this.#real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.#base).level;
  }

  set level(value: string) {
    this.#real().level = value;
  }

  child(more: Record<string, unknown>, moreOptions?: object): FastifyBaseLogger {
    return this.#real().child(more, moreOptions);
  }

  silent(): void {}
  fatal(...args: unknown[]): void { this.#log('fatal', args); }
  error(...args: unknown[]): void { this.#log('error', args); }
  warn(...args: unknown[]): void { this.#log('warn', args); }
  info(...args: unknown[]): void { this.#log('info', args); }
  debug(...args: unknown[]): void { this.#log('debug', args); }
  trace(...args: unknown[]): void { this.#log('trace', args); }
}

function lazyChildLogger(base: FastifyBaseLogger, bindings: Record<string, unknown>, options: object): FastifyBaseLogger {
  return new LazyRequestLogger(base, bindings, options) as unknown as FastifyBaseLogger;
}

const patterns = new WeakMap<MountedRoute, RegExp>();

/** Methods of the mounted routes whose URL pattern matches `pathname` (empty when no route has this path). */
function allowedMethods(routes: readonly MountedRoute[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    let pattern = patterns.get(route);
    if (pattern === undefined) {
      const source = route.url.split('/').map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
      pattern = new RegExp(`^${source}/?$`);
      patterns.set(route, pattern);
    }
    if (pattern.test(pathname)) for (const m of route.methods) methods.add(m);
  }
  return [...methods].sort();
}

function errorResponses(auth: AuthMode): Record<number, typeof errorBodySchema> {
  const responses: Record<number, typeof errorBodySchema> = { 400: errorBodySchema, 500: errorBodySchema };
  if (auth !== 'none') {
    responses[401] = errorBodySchema;
    responses[403] = errorBodySchema;
    responses[404] = errorBodySchema;
  }
  return responses;
}

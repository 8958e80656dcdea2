/**
 * `defineRoute`: how every endpoint file under `src/api/` declares itself. A route names its method and URL, how the
 * caller authenticates (`org`: API key or `User x, Organization y`; `element`: `User x, Element <instanceToken>`;
 * `none`), the permission it needs, and Zod schemas for params, query, body and each response status; the same
 * schemas validate requests, serialise responses and produce the OpenAPI document. The server discovers the files,
 * so adding an endpoint is adding one file that `export default defineRoute({...})`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Logger } from '../log.ts';
import type { Permission } from '../core/permissions.ts';
import { PlugboardError } from '../core/errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
export type AuthMode = 'org' | 'element' | 'none';

/** Who is calling: always exactly one organization. */
export interface Principal {
  orgId: string;
  userId: string;
  /** The API key used, or null for `User x, Organization y` / `User x, Element y` credentials. */
  apiKeyId: string | null;
  permissions: readonly Permission[];
  /** Set for `element` routes: the one connection the Element token grants. */
  instanceId?: string;
}

export interface ElementPrincipal extends Principal {
  instanceId: string;
}

type AnySchema = z.ZodType;

export interface RouteSchema {
  params?: AnySchema;
  querystring?: AnySchema;
  body?: AnySchema;
  headers?: AnySchema;
  /** Status code -> body schema (use `z.undefined()` for an empty 204). */
  response: Record<number, AnySchema>;
}

type Parsed<T> = T extends AnySchema ? z.output<T> : undefined;
type PrincipalFor<A extends AuthMode> = A extends 'none' ? null : A extends 'element' ? ElementPrincipal : Principal;

export type ResponseBody<S extends RouteSchema> = { [K in keyof S['response']]: z.output<S['response'][K]> }[keyof S['response']];

export interface RouteRequest<S extends RouteSchema, A extends AuthMode> {
  params: Parsed<S['params']>;
  query: Parsed<S['querystring']>;
  body: Parsed<S['body']>;
  headers: IncomingHttpHeaders;
  principal: PrincipalFor<A>;
  ctx: AppContext;
  /** The request id (also in `X-Request-Id` and every error body). */
  id: string;
  log: Logger;
  /** The underlying Fastify request, for the rare route that needs the raw body or socket. */
  raw: FastifyRequest;
}

export interface RouteDefinition<S extends RouteSchema = RouteSchema, A extends AuthMode = AuthMode> {
  method: HttpMethod | HttpMethod[];
  url: string;
  auth: A;
  permission?: Permission;
  summary?: string;
  description?: string;
  tags?: string[];
  /** Accept request bodies of any content type (delivered as a Buffer); JSON-only otherwise. */
  anyContentType?: boolean;
  /** Override of the global body limit, in bytes. */
  bodyLimit?: number;
  /** Leave the request body unread: the handler streams `raw.raw` itself (the proxy routes). No parser, no body limit. */
  streamBody?: boolean;
  /** Leave the route out of the OpenAPI document. */
  hidden?: boolean;
  schema: S;
  /** Returns the response body (set another status with `reply.code(...)`), or the reply after sending it itself. */
  handler(request: RouteRequest<S, A>, reply: FastifyReply): Promise<ResponseBody<S> | FastifyReply>;
}

const ROUTE_MARK = Symbol.for('plugboard.route');

export function defineRoute<const S extends RouteSchema, const A extends AuthMode>(definition: RouteDefinition<S, A>): RouteDefinition<S, A> {
  Object.defineProperty(definition, ROUTE_MARK, { value: true, enumerable: false });
  return definition;
}

export function isRouteDefinition(value: unknown): value is RouteDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ROUTE_MARK] === true;
}

export function hasPermission(principal: Principal, permission: Permission): boolean {
  return principal.permissions.includes(permission);
}

/** The FORBIDDEN error when the caller lacks `permission`; null when it has it (routes and the proxy fast path). */
export function missingPermission(principal: Principal, permission: Permission): PlugboardError | null {
  return hasPermission(principal, permission) ? null : new PlugboardError('FORBIDDEN', `This call needs the permission ${permission}, which these credentials do not have`);
}

/** The caller's `X-Request-Id` when it is a safe token, else a new id: the request id of every answer and log line. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

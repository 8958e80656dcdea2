/**
 * The sandbox's HTTP front door on bare node:http: a hand-written router (no framework, so the sandbox is never the
 * bottleneck of a benchmark), body reading, client attribution for the counters, fault injection before the handler,
 * and the admin API guard. Any unexpected failure becomes a JSON `server_error`, never a crash.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleAdmin, type SandboxAdmin } from './admin.ts';
import { handleAuthorize, handleDecision } from './authorize.ts';
import type { CallCounters, Endpoint, FaultBoard } from './faults.ts';
import { REVOKE_STYLES } from './model.ts';
import { FileShelf, handleApi, handleIntrospect, metadata } from './resource.ts';
import { handleBearerRevoke, handleGithubGrantRevoke, handleGoogleRevoke, handleJsonRevoke, handleQueryRevoke, handleRfc7009Revoke, handleSlackRevoke } from './revoke.ts';
import {
  handleAppInstallationDelete,
  handleClientKeyRevoke,
  handleFacebookPermissionsDelete,
  handleHubspotUninstall,
  handleInstallationTokenDelete,
  handleJsonPostRevoke,
  handlePermissionGrantDelete,
  handleRefreshTokenDelete,
  handleRevokeSignInSessions,
  handleShopifyUninstall,
  handleSlackUninstall,
  handleSquareRevoke,
  handleStravaDeauthorize,
  handleStripeDeauthorize,
  handleZendeskTokenDelete,
} from './revoke-grants.ts';
import { secretEquals, type ProviderState } from './state.ts';
import { handleToken } from './token.ts';
import { basicCredentials, BodyTooLarge, bearerToken, escapeHtml, formBody, readBody, sendHtml, sendJson, type SandboxRequest } from './wire.ts';

export interface SandboxContext {
  state: ProviderState;
  faults: FaultBoard;
  counters: CallCounters;
  admin: SandboxAdmin;
  shelf: FileShelf;
  /** Resolved lazily: the issuer depends on the port chosen at listen time. */
  issuer: () => string;
  /** When set, `/_admin/` requires `Authorization: Bearer <adminToken>`. */
  adminToken: string | null;
}

type Handler = (ctx: SandboxContext, req: SandboxRequest, res: ServerResponse) => void;

interface Route {
  endpoint: Endpoint;
  methods: readonly string[];
  handler: Handler;
}

type ParamHandler = (ctx: SandboxContext, param: string, req: SandboxRequest, res: ServerResponse) => void;

/** Revoke endpoints with an id in the path, tried after the exact routes and before `/api/*`. */
const PATH_ROUTES: Array<{ pattern: RegExp; method: string; handler: ParamHandler }> = [
  { pattern: /^\/applications\/([^/]+)\/grant$/, method: 'DELETE', handler: (ctx, p, req, res) => handleGithubGrantRevoke(ctx.state, p, req, res) },
  { pattern: /^\/oauth\/v1\/refresh-tokens\/([^/]+)$/, method: 'DELETE', handler: (ctx, p, req, res) => handleRefreshTokenDelete(ctx.state, p, req, res) },
  { pattern: /^\/api\/v2\/oauth\/tokens\/([^/]+)\.json$/, method: 'DELETE', handler: (ctx, p, req, res) => handleZendeskTokenDelete(ctx.state, p, req, res) },
  { pattern: /^\/v1\.0\/oauth2PermissionGrants\/([^/]+)$/, method: 'DELETE', handler: (ctx, p, req, res) => handlePermissionGrantDelete(ctx.state, p, req, res) },
  { pattern: /^\/v\d+(?:\.\d+)?\/([^/]+)\/permissions$/, method: 'DELETE', handler: (ctx, p, req, res) => handleFacebookPermissionsDelete(ctx.state, p, req, res) },
  { pattern: /^\/app\/installations\/([^/]+)$/, method: 'DELETE', handler: (ctx, p, req, res) => handleAppInstallationDelete(ctx.state, p, req, res) },
];

/** Shared by every request without a query string; handlers only read it. */
const NO_QUERY = new URLSearchParams();

/** Exact-path routes; PATH_ROUTES and `/api/*` are matched after these. */
const ROUTES = new Map<string, Route>([
  ['/', { endpoint: 'metadata', methods: ['GET'], handler: (ctx, _req, res) => indexPage(ctx, res) }],
  ['/.well-known/oauth-authorization-server', { endpoint: 'metadata', methods: ['GET'], handler: (ctx, _req, res) => sendJson(res, 200, metadata(ctx.issuer()), { 'cache-control': 'max-age=60' }) }],
  ['/oauth/authorize', { endpoint: 'authorize', methods: ['GET'], handler: (ctx, req, res) => handleAuthorize(ctx.state, ctx.issuer(), req, res) }],
  ['/oauth/authorize/decision', { endpoint: 'authorize', methods: ['POST'], handler: (ctx, req, res) => handleDecision(ctx.state, ctx.issuer(), req, res) }],
  ['/oauth/token', { endpoint: 'token', methods: ['POST'], handler: (ctx, req, res) => handleToken(ctx.state, req, res) }],
  ['/oauth/introspect', { endpoint: 'introspect', methods: ['POST'], handler: (ctx, req, res) => handleIntrospect(ctx.state, ctx.issuer(), req, res) }],
  ['/oauth/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleRfc7009Revoke(ctx.state, 'rfc7009-basic', req, res) }],
  ['/oauth2/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleRfc7009Revoke(ctx.state, 'rfc7009-post', req, res) }],
  ['/services/oauth2/revoke', { endpoint: 'revoke', methods: ['GET', 'POST'], handler: (ctx, req, res) => handleQueryRevoke(ctx.state, req, res) }],
  ['/2/auth/token/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleBearerRevoke(ctx.state, req, res) }],
  ['/v1/oauth/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleJsonRevoke(ctx.state, req, res) }],
  ['/api/auth.revoke', { endpoint: 'revoke', methods: ['POST', 'GET'], handler: (ctx, req, res) => handleSlackRevoke(ctx.state, req, res) }],
  ['/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleGoogleRevoke(ctx.state, req, res) }],
  ['/admin/api_permissions/current.json', { endpoint: 'revoke', methods: ['DELETE'], handler: (ctx, req, res) => handleShopifyUninstall(ctx.state, req, res) }],
  ['/square/oauth2/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleSquareRevoke(ctx.state, req, res) }],
  ['/oauth/deauthorize', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleStravaDeauthorize(ctx.state, req, res) }],
  ['/stripe/oauth/deauthorize', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleStripeDeauthorize(ctx.state, req, res) }],
  ['/api/apps.uninstall', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleSlackUninstall(ctx.state, req, res) }],
  ['/appinstalls/v3/external-install', { endpoint: 'revoke', methods: ['DELETE'], handler: (ctx, req, res) => handleHubspotUninstall(ctx.state, req, res) }],
  ['/v1.0/me/revokeSignInSessions', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleRevokeSignInSessions(ctx.state, req, res) }],
  ['/installation/token', { endpoint: 'revoke', methods: ['DELETE'], handler: (ctx, req, res) => handleInstallationTokenDelete(ctx.state, req, res) }],
  ['/v2/oauth/revoke/', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleClientKeyRevoke(ctx.state, req, res) }],
  ['/auth0/oauth/revoke', { endpoint: 'revoke', methods: ['POST'], handler: (ctx, req, res) => handleJsonPostRevoke(ctx.state, req, res) }],
]);

const API_ROUTE: Route = { endpoint: 'api', methods: ['GET', 'POST'], handler: (ctx, req, res) => handleApi(ctx.state, ctx.shelf, req, res) };

function findRoute(path: string): { route: Route; param?: string } | undefined {
  const exact = ROUTES.get(path);
  if (exact) return { route: exact };
  for (const r of PATH_ROUTES) {
    const m = r.pattern.exec(path);
    if (m) {
      const param = m[1];
      return { route: { endpoint: 'revoke', methods: [r.method], handler: (ctx, req, res) => r.handler(ctx, param, req, res) }, param };
    }
  }
  if (path.startsWith('/api/')) return { route: API_ROUTE };
  return undefined;
}

/** Attribute a request to a known client before it is handled, so faulted calls are counted per client too. */
function attribute(ctx: SandboxContext, req: SandboxRequest, param: string | undefined): void {
  const known = (id: string | null | undefined): string | null => (id && ctx.state.clients.has(id) ? id : null);
  const viaToken = (token: string | null | undefined): string | null => (token ? (ctx.state.tokens.get(token)?.clientId ?? null) : null);
  const basic = basicCredentials(req);
  const form = req.body === '' ? null : formBody(req);
  req.clientId =
    known(basic?.id) ??
    known(req.query.get('client_id')) ??
    known(form?.get('client_id')) ??
    known(param) ??
    viaToken(bearerToken(req)) ??
    viaToken(req.query.get('token')) ??
    viaToken(form?.get('token'));
}

function adminAllowed(ctx: SandboxContext, req: IncomingMessage): boolean {
  if (ctx.adminToken === null) return true;
  const header = req.headers.authorization;
  if (!header || !/^bearer /i.test(header)) return false;
  return secretEquals(header.slice(7).trim(), ctx.adminToken);
}

function indexPage(ctx: SandboxContext, res: ServerResponse): void {
  const issuer = ctx.issuer();
  const row = (style: string, method: string | null, path: string | null, imitates: string): string =>
    `<tr><td><code>${escapeHtml(style)}</code></td><td>${method ?? '-'}</td><td><code>${escapeHtml(path ?? '(none: 404)')}</code></td><td>${escapeHtml(imitates)}</td></tr>`;
  const rows = Object.values(REVOKE_STYLES)
    .flatMap((s) => [row(s.style, s.method, s.path, s.imitates), ...(s.alsoAt ?? []).map((a) => row(s.style, a.method, a.path, a.imitates))])
    .join('');
  sendHtml(
    res,
    200,
    `<!doctype html><html><head><meta charset="utf-8"><title>Plugboard sandbox provider</title></head>` +
      `<body style="font-family:sans-serif;max-width:60em;margin:2em auto"><h1>Plugboard sandbox provider</h1>` +
      `<p>An OAuth 2.0 authorization server and protected API for tests and demos. Metadata: ` +
      `<a href="/.well-known/oauth-authorization-server">${escapeHtml(issuer)}/.well-known/oauth-authorization-server</a>.</p>` +
      `<h2>Revoke styles</h2><table border="1" cellpadding="4"><tr><th>style</th><th>method</th><th>path</th><th>imitates</th></tr>${rows}</table></body></html>`,
  );
}

async function serve(ctx: SandboxContext, raw: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = raw.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = raw.method ?? 'GET';
  let body: string;
  try {
    body = await readBody(raw);
  } catch (err) {
    if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: 'invalid_request', error_description: 'the request body is larger than 64 KiB' }, { connection: 'close' });
    throw err;
  }
  const req: SandboxRequest = { method, path, query: q === -1 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)), headers: raw.headers, body, raw, clientId: null, form: undefined, basic: undefined };

  if (path === '/_admin' || path.startsWith('/_admin/')) {
    if (!adminAllowed(ctx, raw)) {
      return sendJson(res, 401, { error: 'unauthorized', error_description: 'the admin API needs Authorization: Bearer <admin token>' }, { 'www-authenticate': 'Bearer realm="sandbox-admin"' });
    }
    return handleAdmin(ctx.admin, req, res);
  }

  const found = findRoute(path);
  if (!found) return sendJson(res, 404, { error: 'not_found', error_description: `no sandbox endpoint at ${path}; see ${ctx.issuer()}/` });
  const { route } = found;
  if (!route.methods.includes(method) && !(method === 'HEAD' && route.methods.includes('GET'))) {
    return sendJson(res, 405, { error: 'method_not_allowed', error_description: `use ${route.methods.join(' or ')} on ${path}` }, { allow: route.methods.join(', ') });
  }
  attribute(ctx, req, found.param);
  const decision = ctx.faults.decide(route.endpoint, req.clientId);
  if (decision) {
    const outcome = await ctx.faults.apply(decision.spec, raw, res);
    if (outcome !== 'continue') {
      ctx.counters.record(route.endpoint, req.clientId, outcome);
      return;
    }
    if (res.destroyed) return;
  }
  route.handler(ctx, req, res);
  ctx.counters.record(route.endpoint, req.clientId, String(res.statusCode));
}

export function createSandboxServer(ctx: SandboxContext): Server {
  const server = createServer({ keepAliveTimeout: 5000 }, (raw, res) => {
    serve(ctx, raw, res).catch((err: unknown) => {
      // Never echo the error: it may carry request data. The message names only the failure class.
      process.stderr.write(`sandbox: unexpected failure on ${raw.method} ${(raw.url ?? '').split('?')[0]}: ${err instanceof Error ? err.name : 'error'}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: 'the sandbox failed unexpectedly; see its stderr' });
      else res.destroy();
    });
  });
  // A malformed request line or header gets a plain 400 instead of an uncaught error.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

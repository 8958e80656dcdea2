/**
 * What sits beside the authorization server: token introspection for clients that want to prove a token is dead, the
 * RFC 8414 metadata document, and the protected API (`/api/me`, `/api/files`, `/api/ping`) that answers 200 for a live
 * access token and 401 with `WWW-Authenticate: Bearer error="invalid_token"` for a revoked, expired or unknown one.
 * @see RFC 7662 §2 (introspection), RFC 8414 §2 (metadata), RFC 6750 §3 (bearer errors)
 */
import type { ServerResponse } from 'node:http';
import { authenticateClient, basicChallenge } from './client-auth.ts';
import { REVOKE_STYLE_NAMES, REVOKE_STYLES, SCOPES, seedFiles, type TokenRecord } from './model.ts';
import { randomToken, type ProviderState } from './state.ts';
import { bearerToken, formBody, jsonBody, sendJson, sendOAuthError, type SandboxRequest } from './wire.ts';

/**
 * Introspection for the token's own client only: any other caller learns `{"active": false}`, as for a dead token.
 * @see RFC 7662 §2.1 (the endpoint requires client authentication), §2.2 (inactive tokens: active=false only)
 */
export function handleIntrospect(state: ProviderState, issuer: string, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  if (form === null) return sendOAuthError(res, 400, 'invalid_request', 'send the introspection request as application/x-www-form-urlencoded (RFC 7662 §2.1)');
  const auth = authenticateClient(state, req, form, ['client_secret_basic', 'client_secret_post']);
  if (!auth.ok) return sendOAuthError(res, auth.status, auth.error, auth.description, auth.status === 401 ? basicChallenge(req) : undefined);
  req.clientId = auth.client.id;
  const token = form.get('token');
  if (!token) return sendOAuthError(res, 400, 'invalid_request', 'token is missing (RFC 7662 §2.1)');
  const record = state.live(token);
  if (!record || record.clientId !== auth.client.id) return sendJson(res, 200, { active: false });
  const user = record.userId === null ? undefined : state.users.get(record.userId);
  sendJson(res, 200, {
    active: true,
    scope: record.scope,
    client_id: record.clientId,
    username: user?.username,
    token_type: record.kind === 'access_token' ? 'Bearer' : 'refresh_token',
    exp: record.expiresAt === null ? undefined : Math.floor(record.expiresAt / 1000),
    iat: Math.floor(record.issuedAt / 1000),
    sub: record.userId ?? record.clientId,
    iss: issuer,
  });
}

export function metadata(issuer: string): Record<string, unknown> {
  const endpoints: Record<string, string | null> = {};
  for (const style of REVOKE_STYLE_NAMES) {
    const path = REVOKE_STYLES[style].path;
    endpoints[style] = path === null ? null : issuer + path;
  }
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    introspection_endpoint: `${issuer}/oauth/introspect`,
    scopes_supported: [...SCOPES],
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    service_documentation: `${issuer}/`,
    // Sandbox extension: where each revoke style lives (null: the style has no endpoint).
    sandbox_revocation_endpoints: endpoints,
  };
}

/** @see RFC 6750 §3.1: no error code when no token was sent; invalid_token (401) or insufficient_scope (403). */
function bearerError(res: ServerResponse, status: 401 | 403, error: string | null, description: string): void {
  const challenge = error === null ? 'Bearer realm="sandbox"' : `Bearer realm="sandbox", error="${error}", error_description="${description}"`;
  sendJson(res, status, { error: error ?? 'unauthorized', error_description: description }, { 'www-authenticate': challenge });
}

function hasScope(record: TokenRecord, scope: string): boolean {
  return (' ' + record.scope + ' ').includes(' ' + scope + ' ');
}

/** Files created through POST /api/files, per user; seeded lazily with fixed examples. */
export class FileShelf {
  private readonly byOwner = new Map<string, Array<{ id: string; name: string; size: number }>>();

  list(owner: string): Array<{ id: string; name: string; size: number }> {
    let files = this.byOwner.get(owner);
    if (!files) {
      files = seedFiles(owner);
      this.byOwner.set(owner, files);
    }
    return files;
  }
}

export function handleApi(state: ProviderState, shelf: FileShelf, req: SandboxRequest, res: ServerResponse): void {
  const token = bearerToken(req);
  if (!token) return bearerError(res, 401, null, 'send an access token as Authorization: Bearer');
  const any = state.tokens.get(token);
  if (any) req.clientId = any.clientId;
  const record = state.live(token);
  if (!record || record.kind !== 'access_token') {
    const status = state.stateOf(any);
    const why = any?.kind === 'refresh_token' ? 'a refresh token is not an access token' : status === 'expired' ? 'The access token expired' : status === 'unknown' ? 'The access token is unknown' : 'The access token was revoked';
    return bearerError(res, 401, 'invalid_token', why);
  }
  const owner = record.userId ?? record.clientId;
  const path = req.path;
  // HEAD is answered as GET; node:http drops the body.
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (path === '/api/ping' && method === 'GET') return sendJson(res, 200, { ok: true });
  if (path === '/api/me' && method === 'GET') {
    if (!hasScope(record, 'profile')) return bearerError(res, 403, 'insufficient_scope', 'this call needs the profile scope');
    const user = record.userId === null ? undefined : state.users.get(record.userId);
    if (!user) return sendJson(res, 200, { id: record.clientId, kind: 'client', client_id: record.clientId, scope: record.scope });
    return sendJson(res, 200, { id: user.id, kind: 'user', username: user.username, name: user.name, email: user.email, client_id: record.clientId, scope: record.scope });
  }
  if (path === '/api/files') {
    if (method === 'GET') {
      if (!hasScope(record, 'files.read')) return bearerError(res, 403, 'insufficient_scope', 'this call needs the files.read scope');
      return sendJson(res, 200, { files: shelf.list(owner) });
    }
    if (method === 'POST') {
      if (!hasScope(record, 'files.write')) return bearerError(res, 403, 'insufficient_scope', 'this call needs the files.write scope');
      const body = jsonBody(req);
      if (!body.ok) return sendJson(res, 400, { error: 'invalid_request', error_description: body.message });
      const name = body.value.name;
      if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
        return sendJson(res, 400, { error: 'invalid_request', error_description: 'name must be a non-empty string of at most 200 characters' });
      }
      const content = typeof body.value.content === 'string' ? body.value.content : '';
      const file = { id: randomToken('file_'), name, size: Buffer.byteLength(content) };
      shelf.list(owner).push(file);
      return sendJson(res, 201, file);
    }
    return sendJson(res, 405, { error: 'method_not_allowed', error_description: 'use GET or POST on /api/files' }, { allow: 'GET, POST' });
  }
  if (path.startsWith('/api/files/') && method === 'GET') {
    if (!hasScope(record, 'files.read')) return bearerError(res, 403, 'insufficient_scope', 'this call needs the files.read scope');
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/api/files/'.length));
    } catch {
      return sendJson(res, 400, { error: 'invalid_request', error_description: 'the file id is not valid percent-encoding' });
    }
    const file = shelf.list(owner).find((f) => f.id === id);
    if (!file) return sendJson(res, 404, { error: 'not_found', error_description: `no file with id "${id}"` });
    return sendJson(res, 200, file);
  }
  sendJson(res, 404, { error: 'not_found', error_description: `no API endpoint ${method} ${path}; try /api/me, /api/files, /api/ping` });
}

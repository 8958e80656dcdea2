/**
 * Revocation endpoints, one per revoke style in REVOKE_STYLES, each imitating a real provider family from the revoke
 * catalogue: where the token travels, how the client authenticates, what the success and error answers look like and
 * what dies. A client accepts only its own style: at another style's path it gets 400 `unauthorized_client` naming
 * the right path, and a client whose style is `none` gets 404 everywhere, as there is nothing to call.
 * @see RFC 7009 §2.1 (request, client binding, what gets revoked), §2.2 (200 for an invalid token)
 */
import type { ServerResponse } from 'node:http';
import { authenticateClient, basicChallenge, type ClientAuthMethod } from './client-auth.ts';
import { REVOKE_STYLES, STYLE_SCOPE, type RevokeStyle, type SandboxClient, type TokenRecord } from './model.ts';
import { randomToken, type ProviderState } from './state.ts';
import { basicCredentials, bearerToken, formBody, jsonBody, sendEmpty, sendJson, sendOAuthError, type SandboxRequest } from './wire.ts';

/** Whether `client` may use the endpoint of `style`; answers the refusal itself when not. */
export function styleAllows(client: SandboxClient | undefined, style: RevokeStyle, res: ServerResponse): boolean {
  if (!client || client.revokeStyle === style) return true;
  if (client.revokeStyle === 'none') {
    sendJson(res, 404, { error: 'not_found', error_description: `client "${client.id}" has no revoke endpoint (revoke style none)` });
    return false;
  }
  const own = REVOKE_STYLES[client.revokeStyle];
  sendOAuthError(res, 400, 'unauthorized_client', `client "${client.id}" uses revoke style ${own.style}: ${own.method} ${own.path}`);
  return false;
}

/**
 * RFC 7009 with a form body: `rfc7009-basic` at /oauth/revoke (Basic auth) and `rfc7009-post` at /oauth2/revoke
 * (client_id and client_secret in the body, like Box). Public clients send client_id alone.
 */
export function handleRfc7009Revoke(state: ProviderState, style: 'rfc7009-basic' | 'rfc7009-post', req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  if (form === null) return sendOAuthError(res, 400, 'invalid_request', 'send the revocation request as application/x-www-form-urlencoded (RFC 7009 §2.1)');
  const accepted: ClientAuthMethod[] = style === 'rfc7009-basic' ? ['client_secret_basic', 'none'] : ['client_secret_post', 'none'];
  const auth = authenticateClient(state, req, form, accepted);
  if (!auth.ok) return sendOAuthError(res, auth.status, auth.error, auth.description, auth.status === 401 ? basicChallenge(req) : undefined);
  req.clientId = auth.client.id;
  if (!styleAllows(auth.client, style, res)) return;
  const token = form.get('token');
  if (!token) return sendOAuthError(res, 400, 'invalid_request', 'token is missing (RFC 7009 §2.1)');
  // token_type_hint only speeds up lookup (§2.1); one map holds both kinds, so it is ignored.
  const record = state.live(token);
  // Reddit answers 204 where the RFC says 200: the client's revokeSuccessStatus picks.
  if (!record) return sendEmpty(res, auth.client.revokeSuccessStatus);
  if (record.clientId !== auth.client.id) {
    return sendOAuthError(res, 400, 'unauthorized_client', 'the token was not issued to this client (RFC 7009 §2.1)');
  }
  if (record.kind === 'access_token' && !auth.client.accessTokenRevocation) {
    // @see RFC 7009 §2.2.1: the server does not support revoking this token type.
    return sendOAuthError(res, 400, 'unsupported_token_type', 'this server revokes refresh tokens only; revoke the refresh token');
  }
  state.revoke(record, STYLE_SCOPE[style], style);
  sendEmpty(res, auth.client.revokeSuccessStatus);
}

/** A token presented without client authentication: attribute it to its client and check that client's style. */
export function tokenClient(state: ProviderState, req: SandboxRequest, token: string): { record: TokenRecord | undefined; client: SandboxClient | undefined } {
  const any = state.tokens.get(token);
  const client = any ? state.clients.get(any.clientId) : undefined;
  if (client) req.clientId = client.id;
  return { record: state.live(token), client };
}

/**
 * `query`: the token in the query string, no client authentication, GET or POST; an invalid token is a 400
 * (Salesforce `/services/oauth2/revoke?token=`, Adobe Sign `/oauth/revoke?token=`).
 */
export function handleQueryRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const token = req.query.get('token');
  if (!token) return sendOAuthError(res, 400, 'invalid_request', 'send the token in the query string: ?token=...');
  const { record, client } = tokenClient(state, req, token);
  if (!styleAllows(client, 'query', res)) return;
  if (!record) return sendOAuthError(res, 400, 'invalid_token', 'the token is invalid, expired or already revoked');
  state.revoke(record, STYLE_SCOPE.query, 'query');
  sendEmpty(res, 200);
}

/**
 * `bearer`: the access token to kill authenticates the call, no body (Dropbox `/2/auth/token/revoke`); it takes its
 * refresh token and every access token refreshed from it along.
 */
export function handleBearerRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const token = bearerToken(req);
  if (!token) {
    return sendJson(res, 400, { error_summary: 'missing_authorization/', error: { '.tag': 'missing_authorization' }, error_description: 'send the access token as Authorization: Bearer' });
  }
  if (req.body !== '' && req.body.trim() !== 'null') {
    return sendJson(res, 400, { error_summary: 'bad_request/', error: { '.tag': 'bad_request' }, error_description: 'this endpoint takes no parameters: send no body (or null)' });
  }
  const { record, client } = tokenClient(state, req, token);
  if (!styleAllows(client, 'bearer', res)) return;
  if (!record || record.kind !== 'access_token') {
    return sendJson(res, 401, { error_summary: 'invalid_access_token/', error: { '.tag': 'invalid_access_token' } }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  state.revoke(record, STYLE_SCOPE.bearer, 'bearer');
  sendJson(res, 200, null);
}

/** `json`: `{"token": ...}` as JSON with client_secret_basic (Notion `/v1/oauth/revoke`, Intuit). */
export function handleJsonRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const auth = authenticateClient(state, req, new URLSearchParams(), ['client_secret_basic']);
  if (!auth.ok) return sendOAuthError(res, 401, 'invalid_client', auth.description, basicChallenge(req));
  req.clientId = auth.client.id;
  if (!styleAllows(auth.client, 'json', res)) return;
  const body = jsonBody(req);
  if (!body.ok) return sendOAuthError(res, 400, 'invalid_request', body.message);
  const token = body.value.token;
  if (typeof token !== 'string' || token === '') return sendOAuthError(res, 400, 'invalid_request', 'the JSON body needs "token": the access or refresh token to revoke');
  const record = state.live(token);
  if (record && record.clientId !== auth.client.id) return sendOAuthError(res, 400, 'unauthorized_client', 'the token was not issued to this client');
  if (record) state.revoke(record, STYLE_SCOPE.json, 'json');
  sendJson(res, 200, { request_id: randomToken('req_') });
}

/**
 * `github-grant`: DELETE /applications/{client_id}/grant, Basic auth, JSON `{"access_token": ...}`; deletes every
 * token of this app for this user (GitHub "delete an app authorization"). 204 on success, 404 for an unknown token,
 * 422 for a bad body.
 */
export function handleGithubGrantRevoke(state: ProviderState, pathClientId: string, req: SandboxRequest, res: ServerResponse): void {
  const basic = basicCredentials(req);
  if (!basic) return sendJson(res, 401, { message: 'Requires authentication: Basic client_id:client_secret' }, { 'www-authenticate': 'Basic realm="sandbox"' });
  const auth = authenticateClient(state, req, new URLSearchParams(), ['client_secret_basic']);
  if (!auth.ok) return sendJson(res, 401, { message: 'Bad credentials' }, { 'www-authenticate': 'Basic realm="sandbox"' });
  req.clientId = auth.client.id;
  if (auth.client.id !== pathClientId) return sendJson(res, 404, { message: 'Not Found: the path client_id differs from the authenticated client' });
  if (!styleAllows(auth.client, 'github-grant', res)) return;
  const body = jsonBody(req);
  if (!body.ok) return sendJson(res, 422, { message: `Invalid request: ${body.message}` });
  const token = body.value.access_token;
  if (typeof token !== 'string' || token === '') return sendJson(res, 422, { message: 'Invalid request: "access_token" was not supplied' });
  const record = state.live(token);
  if (!record || record.clientId !== auth.client.id) return sendJson(res, 404, { message: 'Not Found' });
  state.revoke(record, STYLE_SCOPE['github-grant'], 'github-grant');
  sendEmpty(res, 204);
}

/**
 * `slack`: POST /api/auth.revoke with the token as Bearer or a `token` form field. Always HTTP 200: failures are
 * `{"ok":false,"error":...}`; `test=1` is a dry run (Slack `auth.revoke`).
 */
export function handleSlackRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  const token = bearerToken(req) ?? form?.get('token') ?? req.query.get('token') ?? null;
  if (!token) return sendJson(res, 200, { ok: false, error: 'not_authed' });
  const { record, client } = tokenClient(state, req, token);
  if (client && client.revokeStyle !== 'slack') {
    if (client.revokeStyle === 'none') return sendJson(res, 404, { ok: false, error: 'unknown_method' });
    const own = REVOKE_STYLES[client.revokeStyle];
    return sendJson(res, 200, { ok: false, error: 'invalid_auth', warning: `client "${client.id}" uses revoke style ${own.style}: ${own.method} ${own.path}` });
  }
  if (!record) {
    const dead = state.tokens.get(token);
    const status = state.stateOf(dead);
    return sendJson(res, 200, { ok: false, error: status === 'revoked' || status === 'rotated' ? 'token_revoked' : status === 'expired' ? 'token_expired' : 'invalid_auth' });
  }
  const dryRun = (form?.get('test') ?? req.query.get('test')) === '1' || (form?.get('test') ?? req.query.get('test')) === 'true';
  if (!dryRun) state.revoke(record, STYLE_SCOPE.slack, 'slack');
  sendJson(res, 200, { ok: true, revoked: !dryRun });
}

/**
 * `google`: POST /revoke with `token` in the form body or the query string, no client authentication; kills the
 * whole authorization; an invalid or expired token is 400 `invalid_token` rather than RFC 7009's 200.
 */
export function handleGoogleRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  if (form === null) return sendOAuthError(res, 400, 'invalid_request', 'send the token as a form field or in the query string');
  const token = form.get('token') ?? req.query.get('token');
  if (!token) return sendOAuthError(res, 400, 'invalid_request', 'token is missing');
  const { record, client } = tokenClient(state, req, token);
  if (!styleAllows(client, 'google', res)) return;
  if (!record) return sendOAuthError(res, 400, 'invalid_token', 'Token expired or revoked');
  state.revoke(record, STYLE_SCOPE.google, 'google');
  sendEmpty(res, 200);
}

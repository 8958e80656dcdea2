/**
 * The revoke styles of the rest of the revoke catalogue: providers that delete a token or grant named in the path,
 * uninstall the app, deauthorize a connected account, or end every session of a user. Each handler copies one
 * provider's request shape and answers (status and body) and kills what that provider kills (model.ts STYLE_SCOPE,
 * docs/sandbox.md). Client authentication, token attribution and the per-client style check are the ones revoke.ts
 * and client-auth.ts use for every other style.
 * @see RFC 7009 §2.1 (a token is revoked only for the client it was issued to), RFC 6750 §2.1 (bearer header)
 */
import type { ServerResponse } from 'node:http';
import { verifyClientSecret } from './client-auth.ts';
import type { RevokeStyle, SandboxClient, TokenRecord } from './model.ts';
import { styleAllows, tokenClient } from './revoke.ts';
import type { ProviderState } from './state.ts';
import { basicCredentials, bearerToken, formBody, jsonBody, sendEmpty, sendJson, type SandboxRequest } from './wire.ts';

/**
 * The live access token a request presents in `token`, checked against `style`: `undefined` when the answer was
 * already written (style refusal) or when the token is dead, in which case `onDead` wrote the provider's 401.
 */
function liveAccessToken(state: ProviderState, style: RevokeStyle, token: string | undefined | null, req: SandboxRequest, res: ServerResponse, onDead: () => void): TokenRecord | undefined {
  if (!token) {
    onDead();
    return undefined;
  }
  const { record, client } = tokenClient(state, req, token);
  if (!styleAllows(client, style, res)) return undefined;
  if (!record || record.kind !== 'access_token') {
    onDead();
    return undefined;
  }
  return record;
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * `delete-path`, HubSpot v1: `DELETE /oauth/v1/refresh-tokens/{token}`, no authentication; the refresh token dies
 * and its access tokens keep working until they expire. 204; 404 for an unknown or dead refresh token.
 */
export function handleRefreshTokenDelete(state: ProviderState, segment: string, req: SandboxRequest, res: ServerResponse): void {
  const token = decodeSegment(segment);
  const notFound = (): void => sendJson(res, 404, { status: 'error', message: 'refresh token not found', category: 'OBJECT_NOT_FOUND' });
  if (token === null || token === '') return notFound();
  const { record, client } = tokenClient(state, req, token);
  if (!styleAllows(client, 'delete-path', res)) return;
  if (!record || record.kind !== 'refresh_token') return notFound();
  state.revoke(record, 'single_token', 'delete-path');
  sendEmpty(res, 204);
}

/**
 * `delete-path`, Zendesk: `DELETE /api/v2/oauth/tokens/{id}.json` with the access token as Bearer; `current` is the
 * bearer token itself, any other id a grant id (the family id the admin's token lookup shows) of the same client and
 * user. 204; 401 for a dead bearer token; 404 for an unknown id.
 */
export function handleZendeskTokenDelete(state: ProviderState, segment: string, req: SandboxRequest, res: ServerResponse): void {
  const caller = liveAccessToken(state, 'delete-path', bearerToken(req), req, res, () =>
    sendJson(res, 401, { error: 'invalid_token', error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.' }),
  );
  if (!caller) return;
  const id = decodeSegment(segment);
  if (id === 'current') {
    state.revoke(caller, 'single_token', 'delete-path');
    return sendEmpty(res, 204);
  }
  const family = id === null ? undefined : state.families.get(id);
  if (!family || family.clientId !== caller.clientId || family.userId !== caller.userId) return sendJson(res, 404, { error: 'RecordNotFound', description: 'Not found' });
  state.revokeFamily(family.id, 'delete-path');
  sendEmpty(res, 204);
}

/**
 * `delete-path`, Microsoft Graph: `DELETE /v1.0/oauth2PermissionGrants/{id}` with a live access token of the same
 * client as Bearer; the id is the grant id (a family id) and the consent grant goes: no new access tokens, so every
 * refresh token of that client for that user dies, while issued access tokens live until they expire. 204; 401 for a
 * dead bearer token; 404 for an unknown grant or one already deleted (no live refresh token left).
 */
export function handlePermissionGrantDelete(state: ProviderState, segment: string, req: SandboxRequest, res: ServerResponse): void {
  const caller = liveAccessToken(state, 'delete-path', bearerToken(req), req, res, () => graphUnauthorized(res));
  if (!caller) return;
  const id = decodeSegment(segment);
  const family = id === null ? undefined : state.families.get(id);
  if (!family || family.clientId !== caller.clientId || !state.holdsLive(family.clientId, family.userId, 'refresh_token')) {
    return sendJson(res, 404, { error: { code: 'Request_ResourceNotFound', message: `Resource '${id ?? ''}' does not exist or one of its queried reference-property objects are not present.` } });
  }
  state.revokeRefreshTokens(state.familiesOf(family.clientId, family.userId), 'delete-path');
  sendEmpty(res, 204);
}

function graphUnauthorized(res: ServerResponse): void {
  sendJson(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty, expired or revoked.' } }, { 'www-authenticate': 'Bearer error="invalid_token"' });
}

/**
 * `header`, Shopify: `DELETE /admin/api_permissions/current.json` with the access token in `X-Shopify-Access-Token`;
 * the app is uninstalled from the shop (every token of this client for this user). 200 `{}`; 401 for a dead token.
 */
export function handleShopifyUninstall(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const header = req.headers['x-shopify-access-token'];
  const token = typeof header === 'string' ? header.trim() : undefined;
  const record = liveAccessToken(state, 'header', token, req, res, () =>
    sendJson(res, 401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
  );
  if (!record) return;
  state.revoke(record, 'app_authorization', 'header');
  sendJson(res, 200, {});
}

function squareError(res: ServerResponse, status: number, category: string, code: string, detail: string, field?: string): void {
  sendJson(res, status, { errors: [{ category, code, detail, ...(field ? { field } : {}) }] });
}

/**
 * `app-secret-header`, Square: `POST /oauth2/revoke` (sandbox path `/square/oauth2/revoke`) with
 * `Authorization: Client <client secret>` and JSON `{"client_id", "access_token"}`; every token of the app for that
 * seller dies. 200 `{"success":true}`; 401 for a wrong secret; 404 for an unknown or dead token.
 */
export function handleSquareRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const header = req.headers.authorization ?? '';
  const secret = /^client /i.test(header) ? header.slice(7).trim() : '';
  const body = jsonBody(req);
  if (!body.ok) return squareError(res, 400, 'INVALID_REQUEST_ERROR', 'INVALID_CONTENT_TYPE', body.message);
  const clientId = body.value.client_id;
  if (typeof clientId !== 'string' || clientId === '') return squareError(res, 400, 'INVALID_REQUEST_ERROR', 'MISSING_REQUIRED_PARAMETER', 'Missing required parameter.', 'client_id');
  const client = secret === '' ? undefined : verifyClientSecret(state, clientId, secret);
  if (!client) return squareError(res, 401, 'AUTHENTICATION_ERROR', 'UNAUTHORIZED', 'send the application secret as Authorization: Client <secret>, matching client_id');
  req.clientId = client.id;
  if (!styleAllows(client, 'app-secret-header', res)) return;
  const token = body.value.access_token;
  if (typeof token !== 'string' || token === '') return squareError(res, 400, 'INVALID_REQUEST_ERROR', 'MISSING_REQUIRED_PARAMETER', 'Missing required parameter.', 'access_token');
  const record = state.live(token);
  if (!record || record.clientId !== client.id) return squareError(res, 404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', 'The access token was not found for this application.');
  state.revoke(record, 'app_authorization', 'app-secret-header');
  sendJson(res, 200, { success: true });
}

/**
 * `deauthorize`, Strava: `POST /oauth/deauthorize` with `access_token` as a form field or in the query string, no
 * client authentication; the athlete's whole grant to the app goes. 200 (the sandbox does not echo the token back);
 * 401 for a dead token.
 */
export function handleStravaDeauthorize(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  const token = form?.get('access_token') ?? req.query.get('access_token');
  if (!token) return sendJson(res, 400, { message: 'Bad Request', errors: [{ resource: 'Application', field: 'access_token', code: 'missing' }] });
  const record = liveAccessToken(state, 'deauthorize', token, req, res, () =>
    sendJson(res, 401, { message: 'Authorization Error', errors: [{ resource: 'Athlete', field: 'access_token', code: 'invalid' }] }),
  );
  if (!record) return;
  state.revoke(record, 'app_authorization', 'deauthorize');
  sendJson(res, 200, { deauthorized: true });
}

/**
 * `stripe`, Stripe Connect: `POST /oauth/deauthorize` (sandbox path `/stripe/oauth/deauthorize`) authenticated with
 * the platform's secret key as the Basic user (empty password) or as Bearer, form `client_id` and `stripe_user_id`
 * (here: the sandbox user id); the connected account's grant to the platform goes. 200 `{"stripe_user_id"}`; 401 for
 * a wrong key; 400 `invalid_client` when the account is not connected.
 */
export function handleStripeDeauthorize(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const basic = basicCredentials(req);
  const key = basic ? basic.id : bearerToken(req);
  if (!key) return sendJson(res, 401, { error: { type: 'invalid_request_error', message: 'You did not provide an API key: send it as the Basic user or as Bearer.' } });
  const form = formBody(req);
  if (form === null) return sendJson(res, 400, { error: 'invalid_request', error_description: 'send client_id and stripe_user_id as application/x-www-form-urlencoded' });
  const clientId = form.get('client_id');
  if (!clientId) return sendJson(res, 400, { error: 'invalid_request', error_description: 'No client_id provided' });
  const client = verifyClientSecret(state, clientId, key);
  if (!client) return sendJson(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided, or it does not belong to this client_id.' } });
  req.clientId = client.id;
  if (!styleAllows(client, 'stripe', res)) return;
  const account = form.get('stripe_user_id');
  if (!account) return sendJson(res, 400, { error: 'invalid_request', error_description: 'No stripe_user_id provided' });
  const user = state.findUser(account);
  if (!user || !state.holdsLive(client.id, user.id)) return sendJson(res, 400, { error: 'invalid_client', error_description: `Application ${client.id} is not connected to stripe account ${account}.` });
  state.revokeAppAuthorization(client.id, user.id, 'stripe');
  sendJson(res, 200, { stripe_user_id: account });
}

/**
 * `uninstall`, Slack: `POST /api/apps.uninstall` with form `client_id`, `client_secret` and `token` (or the token as
 * Bearer); the app leaves the workspace: every token of the app for that user. Always HTTP 200, `{"ok":true}` or
 * `{"ok":false,"error":...}`.
 */
export function handleSlackUninstall(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  const clientId = form?.get('client_id') ?? null;
  const secret = form?.get('client_secret') ?? null;
  if (!clientId) return sendJson(res, 200, { ok: false, error: 'invalid_client_id' });
  const client = secret === null ? undefined : verifyClientSecret(state, clientId, secret);
  if (!client) return sendJson(res, 200, { ok: false, error: state.clients.has(clientId) ? 'bad_client_secret' : 'invalid_client_id' });
  req.clientId = client.id;
  if (!styleAllows(client, 'uninstall', res)) return;
  const token = bearerToken(req) ?? form?.get('token');
  if (!token) return sendJson(res, 200, { ok: false, error: 'not_authed' });
  const record = state.live(token);
  if (!record || record.clientId !== client.id) {
    const status = state.stateOf(state.tokens.get(token));
    return sendJson(res, 200, { ok: false, error: status === 'revoked' ? 'token_revoked' : status === 'expired' ? 'token_expired' : 'invalid_auth' });
  }
  state.revoke(record, 'app_authorization', 'uninstall');
  sendJson(res, 200, { ok: true });
}

/**
 * `uninstall`, HubSpot: `DELETE /appinstalls/v3/external-install` with the access token as Bearer; the app is
 * uninstalled from the account. 204; 401 for a dead token.
 */
export function handleHubspotUninstall(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const record = liveAccessToken(state, 'uninstall', bearerToken(req), req, res, () =>
    sendJson(res, 401, { status: 'error', message: 'Authentication credentials not found or expired.', category: 'INVALID_AUTHENTICATION' }),
  );
  if (!record) return;
  state.revoke(record, 'app_authorization', 'uninstall');
  sendEmpty(res, 204);
}

/**
 * `sign-in-sessions`, Microsoft Graph: `POST /v1.0/me/revokeSignInSessions` with a live access token as Bearer;
 * every refresh token of the user dies, of every client; access tokens live until they expire. 200 `{"value":true}`.
 */
export function handleRevokeSignInSessions(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const record = liveAccessToken(state, 'sign-in-sessions', bearerToken(req), req, res, () => graphUnauthorized(res));
  if (!record) return;
  state.revoke(record, 'user_refresh_tokens', 'sign-in-sessions');
  sendJson(res, 200, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean', value: true });
}

function facebookError(res: ServerResponse, code: number, message: string): void {
  sendJson(res, 400, { error: { message, type: 'OAuthException', code } });
}

/**
 * `facebook`, Graph API: `DELETE /{version}/{user-id}/permissions?access_token=...` (or the token as Bearer), user id
 * `me` or the token's own user; the app is de-authorized: every token of the app for that user. 200
 * `{"success":true}`; 400 `OAuthException` code 190 for a dead token, code 100 for another user.
 */
export function handleFacebookPermissionsDelete(state: ProviderState, userSegment: string, req: SandboxRequest, res: ServerResponse): void {
  const token = req.query.get('access_token') ?? bearerToken(req);
  if (!token) return facebookError(res, 2500, 'An active access token must be used to query information about the current user.');
  const record = liveAccessToken(state, 'facebook', token, req, res, () => facebookError(res, 190, 'Error validating access token: the session is invalid or was revoked.'));
  if (!record) return;
  const user = decodeSegment(userSegment);
  if (user !== 'me' && user !== record.userId) return facebookError(res, 100, 'Unsupported delete request: the token does not belong to this user.');
  state.revoke(record, 'app_authorization', 'facebook');
  sendJson(res, 200, { success: true });
}

/**
 * `installation-token`, GitHub: `DELETE /installation/token` with the installation access token itself as Bearer;
 * only that token dies. 204; 401 `Bad credentials` for a dead token.
 */
export function handleInstallationTokenDelete(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const record = liveAccessToken(state, 'installation-token', bearerToken(req), req, res, () => sendJson(res, 401, { message: 'Bad credentials' }));
  if (!record) return;
  state.revoke(record, 'single_token', 'installation-token');
  sendEmpty(res, 204);
}

/**
 * `app-jwt`, GitHub App: `DELETE /app/installations/{installation_id}` with a bearer JWT signed by the app's key (see
 * app-jwt.ts); the installation id is the sandbox user id the app is installed for, and the installation goes:
 * every token of the app for that user. 204; 401 for a bad, foreign or stale JWT; 404 when not installed.
 */
export function handleAppInstallationDelete(state: ProviderState, installationSegment: string, req: SandboxRequest, res: ServerResponse): void {
  const jwt = bearerToken(req);
  if (!jwt) return sendJson(res, 401, { message: 'Requires authentication: a JWT signed with the app key, as Bearer' });
  const check = state.appKeys.verify(jwt, state.now(), (id) => state.clients.has(id));
  if (!check.ok) return sendJson(res, 401, { message: check.message });
  const client = state.clients.get(check.clientId) as SandboxClient;
  req.clientId = client.id;
  if (!styleAllows(client, 'app-jwt', res)) return;
  const installation = decodeSegment(installationSegment);
  const user = installation === null ? undefined : state.users.get(installation);
  if (!user || !state.holdsLive(client.id, user.id)) return sendJson(res, 404, { message: 'Not Found' });
  state.revokeAppAuthorization(client.id, user.id, 'app-jwt');
  sendEmpty(res, 204);
}

function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
  sendJson(res, status, { error, error_description: description });
}

/**
 * `form-client-key`, TikTok: `POST /v2/oauth/revoke/` with form `client_key`, `client_secret` and `token`; an access
 * token dies alone, a refresh token takes its family. 200 `{}` (also for an unknown token); 401 for a bad client.
 */
export function handleClientKeyRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  if (form === null) return oauthError(res, 400, 'invalid_request', 'send client_key, client_secret and token as application/x-www-form-urlencoded');
  const key = form.get('client_key');
  const secret = form.get('client_secret');
  if (!key || !secret) return oauthError(res, 400, 'invalid_request', 'client_key and client_secret are required');
  const client = verifyClientSecret(state, key, secret);
  if (!client) return oauthError(res, 401, 'invalid_client', 'client authentication failed: unknown client_key or wrong client_secret');
  req.clientId = client.id;
  if (!styleAllows(client, 'form-client-key', res)) return;
  const token = form.get('token');
  if (!token) return oauthError(res, 400, 'invalid_request', 'token is missing');
  const record = state.live(token);
  if (record && record.clientId !== client.id) return oauthError(res, 400, 'unauthorized_client', 'the token was not issued to this client');
  if (record) state.revoke(record, 'token_or_refresh_family', 'form-client-key');
  sendJson(res, 200, {});
}

/**
 * `json-post`, Auth0: `POST /oauth/revoke` (sandbox path `/auth0/oauth/revoke`) with JSON `{"client_id",
 * "client_secret", "token"}`; only refresh tokens can be revoked, and every refresh token of the app for that user
 * goes (access tokens are self-contained and live until they expire). 200, empty; 401 for a bad client; 400 for an
 * access token.
 */
export function handleJsonPostRevoke(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const body = jsonBody(req);
  if (!body.ok) return oauthError(res, 400, 'invalid_request', body.message);
  const { client_id: clientId, client_secret: secret, token } = body.value;
  if (typeof clientId !== 'string' || typeof secret !== 'string') return oauthError(res, 401, 'access_denied', 'send client_id and client_secret in the JSON body');
  const client = verifyClientSecret(state, clientId, secret);
  if (!client) return oauthError(res, 401, 'access_denied', 'Unauthorized');
  req.clientId = client.id;
  if (!styleAllows(client, 'json-post', res)) return;
  if (typeof token !== 'string' || token === '') return oauthError(res, 400, 'invalid_request', 'token is missing');
  const record = state.live(token);
  if (record && record.clientId !== client.id) return oauthError(res, 400, 'unauthorized_client', 'the token was not issued to this client');
  // @see RFC 7009 §2.2.1: a server that revokes only refresh tokens answers unsupported_token_type.
  if (record && record.kind === 'access_token') return oauthError(res, 400, 'unsupported_token_type', 'only refresh tokens can be revoked');
  if (record) state.revoke(record, 'app_refresh_tokens', 'json-post');
  sendEmpty(res, 200);
}

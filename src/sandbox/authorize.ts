/**
 * The authorization endpoint: validates the request, then either shows an HTML consent page (pick a user, approve or
 * deny) or, when auto-approve is on (for the sandbox, the client, or this request via `sandbox_auto=approve`),
 * redirects straight back with a code. Errors about the client or redirect URI are shown, never redirected; every
 * other error and every success goes back to the client with `state` and `iss`.
 * @see RFC 6749 §4.1.1, §4.1.2, §4.1.2.1; RFC 7636 §4.3 (PKCE); RFC 9207 §2 (iss in the authorization response)
 */
import type { ServerResponse } from 'node:http';
import type { SandboxClient, SandboxUser } from './model.ts';
import type { ProviderState } from './state.ts';
import { escapeHtml, formBody, redirect, repeatedParam, sendHtml, type SandboxRequest } from './wire.ts';

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

function isLoopbackRedirect(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]') && url.hash === '';
}

/** @see RFC 6749 §3.1.2.2 (registered URIs compared as strings); loopback allowance is sandbox-only. */
export function redirectUriAllowed(client: SandboxClient, uri: string): boolean {
  return client.redirectUris.includes(uri) || (client.allowLoopbackRedirects && isLoopbackRedirect(uri));
}

function errorPage(res: ServerResponse, status: number, title: string, message: string): void {
  sendHtml(
    res,
    status,
    `<!doctype html><html><head><meta charset="utf-8"><title>Sandbox: ${escapeHtml(title)}</title></head>` +
      `<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>`,
  );
}

function backTo(res: ServerResponse, redirectUri: string, params: Record<string, string | null>, issuer: string): void {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  url.searchParams.set('iss', issuer);
  redirect(res, url.toString());
}

function grantedScope(client: SandboxClient, requested: string | null): string | null {
  if (requested === null || requested.trim() === '') return client.scopes.join(' ');
  const scopes = requested.split(' ').filter((s) => s !== '');
  return scopes.every((s) => client.scopes.includes(s)) ? [...new Set(scopes)].join(' ') : null;
}

function hasLiveConsent(state: ProviderState, clientId: string, userId: string): boolean {
  for (const family of state.familiesOf(clientId, userId)) {
    for (const value of family.tokens) if (state.live(value)) return true;
  }
  return false;
}

export function handleAuthorize(state: ProviderState, issuer: string, req: SandboxRequest, res: ServerResponse): void {
  const q = req.query;
  const repeated = repeatedParam(q);
  const clientId = q.get('client_id');
  if (!clientId) return errorPage(res, 400, 'invalid_request', 'client_id is missing from the authorization request.');
  const client = state.clients.get(clientId);
  if (!client) return errorPage(res, 400, 'invalid_client', `No client is registered with client_id "${clientId}".`);
  req.clientId = client.id;
  const givenRedirect = q.get('redirect_uri');
  let redirectUri: string;
  if (givenRedirect === null) {
    if (client.redirectUris.length !== 1) return errorPage(res, 400, 'invalid_request', 'redirect_uri is required: this client registers more than one.');
    redirectUri = client.redirectUris[0];
  } else if (!redirectUriAllowed(client, givenRedirect)) {
    return errorPage(res, 400, 'invalid_request', `redirect_uri "${givenRedirect}" is not registered for client "${client.id}".`);
  } else {
    redirectUri = givenRedirect;
  }
  if (repeated === 'redirect_uri' || repeated === 'client_id') {
    return errorPage(res, 400, 'invalid_request', `The parameter ${repeated} appears more than once.`);
  }
  const stateParam = q.get('state');
  const fail = (error: string, description: string): void => backTo(res, redirectUri, { error, error_description: description, state: stateParam }, issuer);
  if (repeated) return fail('invalid_request', `the parameter ${repeated} appears more than once`);
  const responseType = q.get('response_type');
  if (responseType === null) return fail('invalid_request', 'response_type is missing; use response_type=code');
  if (responseType !== 'code') return fail('unsupported_response_type', `response_type "${responseType}" is not supported; use code`);
  const scope = grantedScope(client, q.get('scope'));
  if (scope === null) return fail('invalid_scope', `scope must be a subset of: ${client.scopes.join(' ')}`);
  const challenge = q.get('code_challenge');
  const method = q.get('code_challenge_method');
  if (challenge === null) {
    if (method !== null) return fail('invalid_request', 'code_challenge_method given without code_challenge');
    if (client.pkceRequired || client.secret === null) return fail('invalid_request', 'PKCE is required for this client: send code_challenge and code_challenge_method=S256');
  } else {
    if (method !== 'S256') return fail('invalid_request', `code_challenge_method must be S256, got ${method === null ? 'none (plain is not accepted)' : `"${method}"`}`);
    if (!CHALLENGE.test(challenge)) return fail('invalid_request', 'code_challenge must be the 43-character base64url SHA-256 of the verifier');
  }
  const loginHint = q.get('login_hint');
  let user: SandboxUser | undefined;
  if (loginHint !== null) {
    user = state.findUser(loginHint);
    if (!user) return fail('invalid_request', `login_hint "${loginHint}" names no sandbox user`);
  }
  const pendingInput = { clientId: client.id, redirectUri, redirectUriGiven: givenRedirect !== null, scope, state: stateParam, codeChallenge: challenge };
  const auto = q.get('sandbox_auto');
  if (auto !== null && auto !== 'approve' && auto !== 'deny') return fail('invalid_request', 'sandbox_auto must be approve or deny');
  if (auto === 'deny') return fail('access_denied', 'the user denied the request (sandbox_auto=deny)');
  const defaultUser = user ?? state.users.values().next().value;
  if (auto === 'approve' || client.autoApprove || state.autoApprove) {
    if (!defaultUser) return fail('access_denied', 'the sandbox has no users');
    return approve(state, issuer, res, pendingInput, defaultUser);
  }
  const prompt = q.get('prompt');
  if (prompt === 'none') {
    // @see OpenID Connect Core §3.1.2.6: no UI; succeed only when consent was given before.
    if (defaultUser && hasLiveConsent(state, client.id, defaultUser.id)) return approve(state, issuer, res, pendingInput, defaultUser);
    return fail('consent_required', 'prompt=none but this user has not approved this client; send sandbox_auto=approve or show the consent page');
  }
  const pending = state.addPending(pendingInput);
  consentPage(state, res, client, pending.id, scope, user);
}

function approve(
  state: ProviderState,
  issuer: string,
  res: ServerResponse,
  p: { clientId: string; redirectUri: string; redirectUriGiven: boolean; scope: string; state: string | null; codeChallenge: string | null },
  user: SandboxUser,
): void {
  const code = state.issueCode({
    clientId: p.clientId,
    userId: user.id,
    redirectUri: p.redirectUriGiven ? p.redirectUri : null,
    scope: p.scope,
    codeChallenge: p.codeChallenge,
  });
  backTo(res, p.redirectUri, { code: code.code, state: p.state }, issuer);
}

function consentPage(state: ProviderState, res: ServerResponse, client: SandboxClient, requestId: string, scope: string, hinted: SandboxUser | undefined): void {
  const options = [...state.users.values()]
    .map((u) => `<option value="${escapeHtml(u.id)}"${u === hinted ? ' selected' : ''}>${escapeHtml(u.name)} (${escapeHtml(u.username)})</option>`)
    .join('');
  const scopes = scope.split(' ').map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  sendHtml(
    res,
    200,
    `<!doctype html><html><head><meta charset="utf-8"><title>Sandbox: authorize ${escapeHtml(client.name)}</title></head>` +
      `<body style="font-family:sans-serif;max-width:40em;margin:3em auto">` +
      `<h1>Authorize ${escapeHtml(client.name)}</h1>` +
      `<p>This is the Plugboard sandbox provider. <strong>${escapeHtml(client.name)}</strong> asks for:</p><ul>${scopes}</ul>` +
      `<form method="post" action="/oauth/authorize/decision">` +
      `<input type="hidden" name="request_id" value="${escapeHtml(requestId)}">` +
      `<label>Sign in as <select name="user">${options}</select></label>` +
      `<p><button type="submit" name="decision" value="approve">Approve</button> ` +
      `<button type="submit" name="decision" value="deny">Deny</button></p></form></body></html>`,
  );
}

/** The consent form's POST: approve issues a code, deny answers access_denied (RFC 6749 §4.1.2.1). */
export function handleDecision(state: ProviderState, issuer: string, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  if (form === null) return errorPage(res, 415, 'invalid_request', 'The decision must be posted as an HTML form.');
  const pending = state.takePending(form.get('request_id') ?? '');
  if (!pending) return errorPage(res, 400, 'invalid_request', 'This authorization request is unknown, expired or already answered. Start again from the application.');
  req.clientId = pending.clientId;
  const decision = form.get('decision');
  if (decision === 'deny') {
    return backTo(res, pending.redirectUri, { error: 'access_denied', error_description: 'the user denied the request', state: pending.state }, issuer);
  }
  if (decision !== 'approve') return errorPage(res, 400, 'invalid_request', 'decision must be approve or deny.');
  const user = state.findUser(form.get('user') ?? '');
  if (!user) return errorPage(res, 400, 'invalid_request', 'Pick a sandbox user to sign in as.');
  approve(state, issuer, res, pending, user);
}

/**
 * The token endpoint: authorization code (with PKCE), refresh token (optionally rotating, with reuse detection that
 * kills the whole family) and client credentials. Any client may authenticate with Basic or body credentials here;
 * public clients send only client_id and must have used PKCE.
 * @see RFC 6749 §4.1.3, §4.4, §5.1, §5.2, §6; RFC 7636 §4.6; RFC 9700 §4.14.2 (refresh token rotation)
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { authenticateClient, basicChallenge } from './client-auth.ts';
import type { ProviderState } from './state.ts';
import { formBody, repeatedParam, sendJson, sendOAuthError, type SandboxRequest } from './wire.ts';

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export function handleToken(state: ProviderState, req: SandboxRequest, res: ServerResponse): void {
  const form = formBody(req);
  if (form === null) return sendOAuthError(res, 400, 'invalid_request', 'send the token request as application/x-www-form-urlencoded (RFC 6749 §4.1.3)');
  const repeated = repeatedParam(form);
  if (repeated) return sendOAuthError(res, 400, 'invalid_request', `the parameter ${repeated} appears more than once`);
  const auth = authenticateClient(state, req, form, ['client_secret_basic', 'client_secret_post', 'none']);
  if (!auth.ok) return sendOAuthError(res, auth.status, auth.error, auth.description, auth.status === 401 ? basicChallenge(req) : undefined);
  const client = auth.client;
  req.clientId = client.id;
  const grantType = form.get('grant_type');
  if (!grantType) return sendOAuthError(res, 400, 'invalid_request', 'grant_type is missing; use authorization_code, refresh_token or client_credentials');

  if (grantType === 'authorization_code') {
    const value = form.get('code');
    if (!value) return sendOAuthError(res, 400, 'invalid_request', 'code is missing');
    const code = state.codes.get(value);
    if (!code || code.clientId !== client.id) return sendOAuthError(res, 400, 'invalid_grant', 'the authorization code is unknown or was issued to another client');
    if (code.used) {
      // @see RFC 6749 §4.1.2: a replayed code SHOULD revoke the tokens issued from it.
      if (code.usedFamilyId) state.revokeFamily(code.usedFamilyId, 'code_replay');
      return sendOAuthError(res, 400, 'invalid_grant', 'the authorization code was already used; the tokens issued from it are now revoked');
    }
    if (code.expiresAt <= state.now()) return sendOAuthError(res, 400, 'invalid_grant', 'the authorization code has expired; start the authorization again');
    const redirectUri = form.get('redirect_uri');
    if (code.redirectUri !== null && redirectUri !== code.redirectUri) {
      return sendOAuthError(res, 400, 'invalid_grant', 'redirect_uri must be sent and equal the one of the authorization request');
    }
    const verifier = form.get('code_verifier');
    if (code.codeChallenge !== null) {
      if (verifier === null) return sendOAuthError(res, 400, 'invalid_grant', 'code_verifier is required: the authorization request used PKCE');
      if (!VERIFIER.test(verifier)) return sendOAuthError(res, 400, 'invalid_grant', 'code_verifier must be 43-128 characters of [A-Za-z0-9._~-] (RFC 7636 §4.1)');
      if (createHash('sha256').update(verifier).digest('base64url') !== code.codeChallenge) {
        return sendOAuthError(res, 400, 'invalid_grant', 'code_verifier does not match the code_challenge');
      }
    } else if (verifier !== null) {
      return sendOAuthError(res, 400, 'invalid_grant', 'code_verifier sent but the authorization request had no code_challenge');
    }
    code.used = true;
    const family = state.newFamily(client.id, code.userId);
    code.usedFamilyId = family.id;
    return sendJson(res, 200, state.issue(client, family, code.scope, 'new'));
  }

  if (grantType === 'refresh_token') {
    const value = form.get('refresh_token');
    if (!value) return sendOAuthError(res, 400, 'invalid_request', 'refresh_token is missing');
    const record = state.tokens.get(value);
    if (!record || record.kind !== 'refresh_token' || record.clientId !== client.id) {
      return sendOAuthError(res, 400, 'invalid_grant', 'the refresh token is unknown or was issued to another client');
    }
    const status = state.stateOf(record);
    if (status === 'rotated') {
      // @see RFC 9700 §4.14.2: a rotated-out refresh token presented again means one party is an attacker.
      state.revokeFamily(record.familyId, 'reuse_detected');
      return sendOAuthError(res, 400, 'invalid_grant', 'refresh token reuse detected: this token was already rotated; every token of this authorization is now revoked');
    }
    if (status === 'revoked') return sendOAuthError(res, 400, 'invalid_grant', 'the refresh token has been revoked');
    if (status === 'expired') return sendOAuthError(res, 400, 'invalid_grant', 'the refresh token has expired');
    const family = state.families.get(record.familyId);
    if (!family) return sendOAuthError(res, 400, 'invalid_grant', 'the refresh token has been revoked');
    let scope = record.scope;
    const requested = form.get('scope');
    if (requested !== null && requested.trim() !== '') {
      const granted = new Set(record.scope.split(' '));
      const asked = requested.split(' ').filter((s) => s !== '');
      // @see RFC 6749 §6: the scope may only shrink.
      if (!asked.every((s) => granted.has(s))) return sendOAuthError(res, 400, 'invalid_scope', `scope may not exceed the original grant: ${record.scope}`);
      scope = [...new Set(asked)].join(' ');
    }
    if (client.rotateRefreshTokens) {
      record.rotatedAt = state.now();
      return sendJson(res, 200, state.issue(client, family, scope, 'new'));
    }
    return sendJson(res, 200, state.issue(client, family, scope, record));
  }

  if (grantType === 'client_credentials') {
    if (auth.method === 'none') return sendOAuthError(res, 401, 'invalid_client', 'client_credentials needs a confidential client (RFC 6749 §4.4)');
    let scope = client.scopes.join(' ');
    const requested = form.get('scope');
    if (requested !== null && requested.trim() !== '') {
      const asked = requested.split(' ').filter((s) => s !== '');
      if (!asked.every((s) => client.scopes.includes(s))) return sendOAuthError(res, 400, 'invalid_scope', `scope must be a subset of: ${client.scopes.join(' ')}`);
      scope = [...new Set(asked)].join(' ');
    }
    // @see RFC 6749 §4.4.3: no refresh token for client credentials.
    return sendJson(res, 200, state.issue(client, state.newFamily(client.id, null), scope, 'none'));
  }

  return sendOAuthError(res, 400, 'unsupported_grant_type', `grant_type "${grantType}" is not supported; use authorization_code, refresh_token or client_credentials`);
}

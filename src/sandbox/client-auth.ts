/**
 * Client authentication at the token, introspection and revocation endpoints: HTTP Basic (`client_secret_basic`),
 * body parameters (`client_secret_post`) or `client_id` alone for public clients. Each endpoint says which methods it
 * accepts, so a revoke style can insist on exactly one.
 * @see RFC 6749 §2.3.1 (one method per request; Basic is the one servers MUST support)
 */
import type { SandboxClient } from './model.ts';
import { secretEquals, type ProviderState } from './state.ts';
import { basicCredentials, type SandboxRequest } from './wire.ts';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export type ClientAuthResult =
  | { ok: true; client: SandboxClient; method: ClientAuthMethod }
  | { ok: false; status: 400 | 401; error: 'invalid_client' | 'invalid_request'; description: string; clientId: string | null };

function fail(status: 400 | 401, error: 'invalid_client' | 'invalid_request', description: string, clientId: string | null): ClientAuthResult {
  return { ok: false, status, error, description, clientId };
}

/** The client id a request claims, before any verification: used to attribute counters. */
export function claimedClientId(req: SandboxRequest, params: URLSearchParams | null): string | null {
  const basic = basicCredentials(req);
  if (basic) return basic.id;
  return params?.get('client_id') ?? req.query.get('client_id') ?? null;
}

/**
 * The client whose secret this is, or undefined: the one comparison every endpoint shares, whatever carries the
 * credentials (Basic, body, `Authorization: Client`, a Stripe-style secret key).
 */
export function verifyClientSecret(state: ProviderState, clientId: string, secret: string): SandboxClient | undefined {
  const client = state.clients.get(clientId);
  return client && client.secret !== null && secretEquals(secret, client.secret) ? client : undefined;
}

export function authenticateClient(
  state: ProviderState,
  req: SandboxRequest,
  params: URLSearchParams,
  accepted: readonly ClientAuthMethod[],
): ClientAuthResult {
  const basic = basicCredentials(req);
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (basic === null) return fail(401, 'invalid_client', 'the Authorization: Basic header is malformed; send base64(client_id:client_secret)', null);
  if (basic && bodySecret !== null) {
    return fail(400, 'invalid_request', 'use one client authentication method: Basic header or client_secret in the body, not both', basic.id);
  }
  if (basic) {
    const client = verifyClientSecret(state, basic.id, basic.secret);
    if (!client) {
      return fail(401, 'invalid_client', 'client authentication failed: unknown client_id or wrong client_secret', basic.id);
    }
    if (bodyId !== null && bodyId !== client.id) return fail(400, 'invalid_request', 'client_id in the body differs from the Basic credentials', basic.id);
    if (!accepted.includes('client_secret_basic')) {
      return fail(401, 'invalid_client', `this endpoint does not accept client_secret_basic; use ${accepted.join(' or ')}`, basic.id);
    }
    return { ok: true, client, method: 'client_secret_basic' };
  }
  if (bodyId === null) {
    return fail(401, 'invalid_client', `client authentication is required (${accepted.join(', ')})`, null);
  }
  const client = state.clients.get(bodyId);
  if (!client) return fail(401, 'invalid_client', 'client authentication failed: unknown client_id or wrong client_secret', bodyId);
  if (bodySecret !== null) {
    if (!verifyClientSecret(state, bodyId, bodySecret)) {
      return fail(401, 'invalid_client', 'client authentication failed: unknown client_id or wrong client_secret', bodyId);
    }
    if (!accepted.includes('client_secret_post')) {
      return fail(401, 'invalid_client', `this endpoint does not accept client_secret_post; use ${accepted.join(' or ')}`, bodyId);
    }
    return { ok: true, client, method: 'client_secret_post' };
  }
  if (client.secret !== null) {
    return fail(401, 'invalid_client', 'this client is confidential: send its client_secret', bodyId);
  }
  if (!accepted.includes('none')) return fail(401, 'invalid_client', 'this endpoint does not accept public clients', bodyId);
  return { ok: true, client, method: 'none' };
}

/** The WWW-Authenticate header an invalid_client answer carries when the client tried Basic. */
export function basicChallenge(req: SandboxRequest): Record<string, string> | undefined {
  return req.headers.authorization && /^basic /i.test(req.headers.authorization) ? { 'www-authenticate': 'Basic realm="sandbox"' } : undefined;
}

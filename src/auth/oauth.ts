/**
 * OAuth 2.0 client side for connections, on oauth4webapi: the authorization URL (PKCE S256 and state), validation of
 * the authorization response (RFC 9207 `iss`), the authorization code grant, refresh and client credentials. Providers
 * are described by `OAuthProvider` (built from a connector definition by `providerFromConnector`), so this module does
 * not depend on the connector schema's shape. Outbound HTTP goes through undici with a timeout and a body bound;
 * non-standard token responses (form-encoded bodies, nested fields, a missing `token_type`, errors sent with HTTP 200)
 * are rewritten into RFC 6749 §5.1 shape before oauth4webapi validates them. Token requests pass the same SSRF guard as
 * proxied calls (src/proxy/ssrf.ts): loopback and private targets only with the connector's explicit opt-in. Every failure leaves as a PlugboardError
 * whose message and providerMessage carry no token, code or secret.
 */

import * as oauth from 'oauth4webapi';
import { PlugboardError } from '../core/errors.ts';
import { assertUrlAllowed } from '../proxy/ssrf.ts';
import { outboundDispatcher } from '../proxy/outbound.ts';
import { exchange, exchangeTarget, ExchangeBodyTooLargeError, type ExchangeResponse } from '../proxy/exchange.ts';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** Where the standard fields live in a provider's non-standard token response (dot paths, e.g. `data.access_token`). */
export interface TokenResponseMapping {
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: string;
  tokenType?: string;
  scope?: string;
  /** An absolute expiry (epoch seconds or ISO-8601) for providers that send one instead of `expires_in`. */
  expiresAt?: string | undefined;
  /** The success flag of providers that answer errors with HTTP 200 (Slack `ok: false`). */
  okFlag?: string | undefined;
}

export interface OAuthProvider {
  /** Absent for connectors that only use the client credentials grant. */
  authorizationUrl?: string;
  tokenUrl: string;
  /** A separate refresh endpoint, for the few providers that have one; defaults to tokenUrl. */
  refreshUrl?: string;
  /** RFC 9207 issuer identifier; when absent the origin of the authorization URL stands in for it. */
  issuer?: string;
  scopes: string[];
  scopeSeparator: string;
  pkce: boolean;
  clientAuth: ClientAuthMethod;
  authorizeParams: Record<string, string>;
  /** Extra parameters sent with every token request (an `audience`, say). */
  tokenParams: Record<string, string>;
  /** The provider's name for the client id when it is not `client_id` (TikTok: `client_key`). */
  clientIdParam?: string;
  tokenResponse?: TokenResponseMapping;
  /** The connector's explicit opt-in to plain-HTTP targets (sandbox and local testing only). */
  allowInsecureRequests: boolean;
  /** The connector's explicit opt-in to loopback and private-network targets (sandbox and local testing only). */
  allowPrivateTargets: boolean;
}

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** A token set as Plugboard stores it: expiry as an ISO instant, or null when the provider sent none. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  tokenType: string;
  expiresAt: string | null;
  scope: string | null;
}

export interface OAuthCallOptions {
  /** Bound on each token endpoint request; default 10 s. */
  timeoutMs?: number;
  /** Current time, for deterministic tests of expiry computation. */
  now?: () => number;
}

const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/** @see RFC 7636 §4.1 (43..128 characters of unreserved characters) and §4.2 (S256). */
export async function createPkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
}

function assertTarget(url: string, where: string, provider: OAuthProvider): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PlugboardError('CONNECTOR_INVALID', `The connector's ${where} is not an absolute URL.`, { details: [{ path: where, message: 'expected an absolute https:// URL' }] });
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && provider.allowInsecureRequests) return parsed;
  throw new PlugboardError('TARGET_FORBIDDEN', `The connector's ${where} uses ${parsed.protocol} and the connector does not opt in to plain-HTTP targets.`, {
    details: [{ path: where, message: 'use https://, or set the connector\'s explicit insecure-target opt-in for local testing' }],
  });
}

function authorizationUrlOf(provider: OAuthProvider): URL {
  if (provider.authorizationUrl === undefined) {
    throw new PlugboardError('CONNECTOR_INVALID', 'The connector has no authorization URL, so it cannot start an authorization code flow.', { details: [{ path: 'auth.oauth.authorizationUrl', message: 'expected the provider\'s authorization endpoint' }] });
  }
  return assertTarget(provider.authorizationUrl, 'auth.oauth.authorizationUrl', provider);
}

function authorizationServer(provider: OAuthProvider, tokenEndpoint: string): oauth.AuthorizationServer {
  const token = assertTarget(tokenEndpoint, 'auth.oauth.tokenUrl', provider);
  const authorization = provider.authorizationUrl === undefined ? undefined : authorizationUrlOf(provider);
  return {
    issuer: provider.issuer ?? (authorization ?? token).origin,
    ...(authorization === undefined ? {} : { authorization_endpoint: authorization.href }),
    token_endpoint: token.href,
  };
}

/**
 * @see RFC 6749 §4.1.1 (authorization request), RFC 7636 §4.3 (code_challenge), RFC 6749 §10.12 (state against CSRF).
 * `scope` given by the caller replaces the connector's default scopes.
 */
export function buildAuthorizationUrl(
  provider: OAuthProvider,
  clientId: string,
  request: { redirectUri: string; state: string; codeChallenge: string | null; scope?: string | undefined },
): string {
  const url = authorizationUrlOf(provider);
  for (const [name, value] of Object.entries(provider.authorizeParams)) url.searchParams.set(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  if (provider.clientIdParam !== undefined && provider.clientIdParam !== 'client_id') url.searchParams.set(provider.clientIdParam, clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  const scope = request.scope ?? provider.scopes.join(provider.scopeSeparator);
  if (scope !== '') url.searchParams.set('scope', scope);
  url.searchParams.set('state', request.state);
  if (request.codeChallenge !== null) {
    url.searchParams.set('code_challenge', request.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url.href;
}

/**
 * Validates the parameters the provider sent to the callback and returns the code. The caller has already matched
 * `state` against a stored, unused, unexpired state row; this checks it again together with RFC 9207 `iss` (an `iss`
 * naming another server means a mix-up attack, §2.4) and turns an error response (`access_denied`, §4.1.2.1) into
 * OAUTH_ERROR.
 */
export function validateCallback(provider: OAuthProvider, clientId: string, parameters: URLSearchParams, expectedState: string): string {
  const as = authorizationServer(provider, provider.tokenUrl);
  try {
    const validated = oauth.validateAuthResponse(as, { client_id: clientId }, parameters, expectedState);
    const code = validated.get('code');
    if (code === null || code === '') {
      throw new PlugboardError('OAUTH_ERROR', 'The provider redirected back without an authorization code.', { details: [{ path: 'query.code', message: 'expected the code parameter of RFC 6749 §4.1.2' }] });
    }
    return code;
  } catch (error) {
    if (error instanceof PlugboardError) throw error;
    if (error instanceof oauth.AuthorizationResponseError) {
      const description = error.error_description ?? undefined;
      throw new PlugboardError('OAUTH_ERROR', error.error === 'access_denied'
        ? 'The person declined the authorization at the provider (access_denied); nothing was connected.'
        : `The provider refused the authorization: ${error.error}.`, {
        providerMessage: description === undefined ? { error: error.error } : { error: error.error, error_description: description },
      });
    }
    if (error instanceof oauth.OperationProcessingError) {
      const issMismatch = error.message.includes('"iss"');
      throw new PlugboardError(issMismatch ? 'OAUTH_ERROR' : 'OAUTH_STATE_INVALID', issMismatch
        ? `The authorization response names another issuer than ${as.issuer} (RFC 9207); it was refused as a possible mix-up attack.`
        : 'The authorization response does not match the state this flow was started with.', { cause: error });
    }
    throw error;
  }
}

function readPath(source: unknown, path: string): unknown {
  let current: unknown = source;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/**
 * Brings a token endpoint body into RFC 6749 §5.1 shape. Kept separate from the transport so it can be tested on its
 * own. Returns the HTTP status to hand on: an `error` member with a 200 (Slack style) becomes a 400 so that it is
 * processed as the error response of §5.2.
 */
export function normalizeTokenBody(body: Record<string, unknown>, status: number, mapping: TokenResponseMapping | undefined, now: number): { status: number; body: Record<string, unknown> } {
  const okFlag = mapping?.okFlag === undefined ? undefined : readPath(body, mapping.okFlag);
  if (status === 200 && (typeof body.error === 'string' || okFlag === false || okFlag === 'false')) {
    const description = typeof body.error_description === 'string' ? { error_description: body.error_description } : {};
    return { status: 400, body: { error: typeof body.error === 'string' ? body.error : 'invalid_request', ...description } };
  }
  if (status !== 200) return { status, body };
  const out: Record<string, unknown> = { ...body };
  if (mapping !== undefined) {
    const fields: [keyof TokenResponseMapping, string][] = [
      ['accessToken', 'access_token'], ['refreshToken', 'refresh_token'], ['expiresIn', 'expires_in'], ['tokenType', 'token_type'], ['scope', 'scope'],
    ];
    for (const [key, standard] of fields) {
      const path = mapping[key];
      if (path === undefined || path === standard) continue;
      const value = readPath(body, path);
      if (value === undefined || value === null) delete out[standard];
      else out[standard] = value;
    }
    if (mapping.expiresAt !== undefined) {
      const absolute = readPath(body, mapping.expiresAt);
      const at = typeof absolute === 'number' ? absolute * 1000 : typeof absolute === 'string' ? (/^\d+$/.test(absolute) ? Number(absolute) * 1000 : Date.parse(absolute)) : Number.NaN;
      if (Number.isFinite(at)) out.expires_in = Math.max(1, Math.floor((at - now) / 1000));
    }
  }
  // Providers that omit token_type (or say "OAuth") issue bearer tokens in practice; RFC 6750 is what we send.
  if (typeof out.token_type !== 'string' || !['bearer', 'dpop'].includes(out.token_type.toLowerCase())) out.token_type = 'bearer';
  // No usable expiry means "unknown": the token is used until the provider rejects it, then refreshed.
  const seconds = typeof out.expires_in === 'number' ? out.expires_in : typeof out.expires_in === 'string' && out.expires_in.trim() !== '' ? Number(out.expires_in) : Number.NaN;
  if (Number.isFinite(seconds) && seconds > 0) out.expires_in = seconds;
  else delete out.expires_in;
  if (Array.isArray(out.scope)) out.scope = out.scope.join(' ');
  if (out.scope !== undefined && typeof out.scope !== 'string') delete out.scope;
  if (out.refresh_token === null || out.refresh_token === '') delete out.refresh_token;
  return { status, body: out };
}

/**
 * The transport oauth4webapi calls: one buffered exchange on the SSRF-guarded dispatcher, bounded in time and size
 * (redirects are not followed), and the place non-standard bodies are normalized.
 */
function transport(provider: OAuthProvider, timeoutMs: number, now: () => number): (url: string, init: oauth.CustomFetchOptions<'POST', URLSearchParams>) => Promise<Response> {
  const policy = { allowPrivateTargets: provider.allowPrivateTargets };
  return async (url, init) => {
    // The SSRF guard: literal private hosts are refused here, and the dispatcher re-checks every resolved address.
    const target = new URL(url);
    assertUrlAllowed(target, policy);
    let response: ExchangeResponse;
    try {
      response = await exchange(outboundDispatcher(policy), {
        ...exchangeTarget(target),
        method: init.method,
        headers: init.headers,
        body: init.body.toString(),
        timeoutMs,
        maxBodyBytes: MAX_TOKEN_RESPONSE_BYTES,
      });
    } catch (error) {
      if (error instanceof ExchangeBodyTooLargeError) {
        throw new PlugboardError('PROVIDER_ERROR', `The token endpoint answered with more than ${MAX_TOKEN_RESPONSE_BYTES} bytes.`, { providerMessage: { status: error.statusCode } });
      }
      throw new PlugboardError('PROVIDER_UNREACHABLE', `The token endpoint ${target.origin} could not be reached.`, { cause: error });
    }
    const text = response.body.toString('utf8');
    const contentType = headerOf(response, 'content-type') ?? '';
    let parsed: Record<string, unknown> | null = null;
    if (contentType.includes('application/x-www-form-urlencoded')) {
      parsed = Object.fromEntries(new URLSearchParams(text));
    } else {
      try {
        const json: unknown = JSON.parse(text);
        if (json !== null && typeof json === 'object' && !Array.isArray(json)) parsed = json as Record<string, unknown>;
      } catch {
        parsed = null;
      }
    }
    const headers = new Headers();
    const challenge = headerOf(response, 'www-authenticate');
    if (challenge !== null) headers.set('www-authenticate', challenge);
    if (parsed === null) {
      headers.set('content-type', contentType || 'text/plain');
      return new Response(text, { status: response.statusCode, headers });
    }
    const normalized = normalizeTokenBody(parsed, response.statusCode, provider.tokenResponse, now());
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(normalized.body), { status: normalized.status, headers });
  };
}

/** A header of the answer as one value (a repeated header joined as fetch's Headers.get joins it), or null. */
function headerOf(response: ExchangeResponse, name: string): string | null {
  const value = response.headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

/** The connector's extra token parameters, plus the client id under the provider's own name when it has one. */
function tokenParameters(provider: OAuthProvider, clientId: string): Record<string, string> {
  const named = provider.clientIdParam;
  return named === undefined || named === 'client_id' ? provider.tokenParams : { ...provider.tokenParams, [named]: clientId };
}

function requestOptions(provider: OAuthProvider, clientId: string, options: OAuthCallOptions): oauth.TokenEndpointRequestOptions {
  const extra = tokenParameters(provider, clientId);
  return {
    [oauth.customFetch]: transport(provider, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.now ?? Date.now),
    ...(Object.keys(extra).length > 0 ? { additionalParameters: extra } : {}),
    // The connector's loud opt-in, and only it, lifts oauth4webapi's https-only rule.
    ...(provider.allowInsecureRequests ? { [oauth.allowInsecureRequests]: true } : {}),
  } as oauth.TokenEndpointRequestOptions;
}

function clientAuthentication(provider: OAuthProvider, secret: string): oauth.ClientAuth {
  // @see RFC 6749 §2.3.1: HTTP Basic is the method servers MUST support; the body form is for those that require it.
  return provider.clientAuth === 'client_secret_post' ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
}

function toTokenSet(response: oauth.TokenEndpointResponse, now: number, previousRefreshToken: string | null): TokenSet {
  return {
    accessToken: response.access_token,
    // @see RFC 6749 §6: a refresh response without refresh_token keeps the old one valid.
    refreshToken: response.refresh_token ?? previousRefreshToken,
    tokenType: response.token_type,
    expiresAt: typeof response.expires_in === 'number' ? new Date(now + response.expires_in * 1000).toISOString() : null,
    scope: response.scope ?? null,
  };
}

/** Maps oauth4webapi and transport failures to Plugboard codes without carrying any request secret. */
export function tokenEndpointError(error: unknown, grant: string): PlugboardError {
  if (error instanceof PlugboardError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    const providerMessage = { status: error.status, error: error.error, ...(error.error_description ? { error_description: error.error_description } : {}) };
    // @see RFC 6749 §5.2: invalid_grant means the code or refresh token is dead; the person must authorize again.
    if (error.status >= 500) return new PlugboardError('PROVIDER_ERROR', `The token endpoint failed during the ${grant} grant (HTTP ${error.status}).`, { providerMessage });
    return new PlugboardError('OAUTH_ERROR', `The token endpoint refused the ${grant} grant: ${error.error}.`, { providerMessage });
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return new PlugboardError('OAUTH_ERROR', `The token endpoint refused the client credentials during the ${grant} grant (HTTP ${error.status}).`, { providerMessage: { status: error.status } });
  }
  if (error instanceof oauth.OperationProcessingError) {
    if (error.code === oauth.RESPONSE_IS_NOT_CONFORM) {
      const status = error.cause instanceof Response ? error.cause.status : undefined;
      return new PlugboardError('PROVIDER_ERROR', `The token endpoint answered the ${grant} grant with an unexpected HTTP status${status === undefined ? '' : ` ${status}`}.`, { providerMessage: { status } });
    }
    if (error.code === oauth.REQUEST_PROTOCOL_FORBIDDEN) {
      return new PlugboardError('TARGET_FORBIDDEN', 'The token endpoint is not https:// and the connector does not opt in to plain-HTTP targets.');
    }
    return new PlugboardError('PROVIDER_ERROR', `The token endpoint's answer to the ${grant} grant is not a usable token response: ${error.message.replace(/"response" body /, '')}. If the provider nests or renames fields, map them in the connector's auth.oauth.tokenResponse.`);
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new PlugboardError('PROVIDER_ERROR', `The token endpoint's answer to the ${grant} grant uses an unsupported feature: ${error.message}.`);
  }
  return new PlugboardError('INTERNAL', `The ${grant} grant failed unexpectedly.`, { cause: error });
}

/** @see RFC 6749 §4.1.3 (access token request) and RFC 7636 §4.5 (code_verifier). */
export async function exchangeCode(
  provider: OAuthProvider,
  client: OAuthClientCredentials,
  request: { code: string; redirectUri: string; codeVerifier: string | null },
  options: OAuthCallOptions = {},
): Promise<TokenSet> {
  const as = authorizationServer(provider, provider.tokenUrl);
  const now = options.now ?? Date.now;
  try {
    // The callback parameters (state, iss) were validated already by validateCallback, or the caller extracted the
    // code itself (POST /instances with providerData.code); oauth4webapi wants a validated parameter object either way.
    const params = oauth.validateAuthResponse(as, { client_id: client.clientId }, new URLSearchParams({ code: request.code }), oauth.expectNoState);
    const response = await oauth.authorizationCodeGrantRequest(as, { client_id: client.clientId }, clientAuthentication(provider, client.clientSecret), params, request.redirectUri, request.codeVerifier ?? oauth.nopkce, requestOptions(provider, client.clientId, options));
    const result = await oauth.processAuthorizationCodeResponse(as, { client_id: client.clientId }, response);
    return toTokenSet(result, now(), null);
  } catch (error) {
    throw tokenEndpointError(error, 'authorization code');
  }
}

/** @see RFC 6749 §6 (refreshing an access token). */
export async function refreshTokens(provider: OAuthProvider, client: OAuthClientCredentials, refreshToken: string, options: OAuthCallOptions = {}): Promise<TokenSet> {
  const as = authorizationServer(provider, provider.refreshUrl ?? provider.tokenUrl);
  const now = options.now ?? Date.now;
  try {
    const response = await oauth.refreshTokenGrantRequest(as, { client_id: client.clientId }, clientAuthentication(provider, client.clientSecret), refreshToken, requestOptions(provider, client.clientId, options));
    const result = await oauth.processRefreshTokenResponse(as, { client_id: client.clientId }, response);
    return toTokenSet(result, now(), refreshToken);
  } catch (error) {
    throw tokenEndpointError(error, 'refresh token');
  }
}

/** @see RFC 6749 §4.4 (client credentials grant). */
export async function clientCredentialsGrant(provider: OAuthProvider, client: OAuthClientCredentials, scope: string | undefined, options: OAuthCallOptions = {}): Promise<TokenSet> {
  const as = authorizationServer(provider, provider.tokenUrl);
  const now = options.now ?? Date.now;
  const requested = scope ?? provider.scopes.join(provider.scopeSeparator);
  try {
    const response = await oauth.clientCredentialsGrantRequest(as, { client_id: client.clientId }, clientAuthentication(provider, client.clientSecret), { ...tokenParameters(provider, client.clientId), ...(requested === '' ? {} : { scope: requested }) }, requestOptions(provider, client.clientId, options));
    const result = await oauth.processClientCredentialsResponse(as, { client_id: client.clientId }, response);
    return toTokenSet(result, now(), null);
  } catch (error) {
    throw tokenEndpointError(error, 'client credentials');
  }
}

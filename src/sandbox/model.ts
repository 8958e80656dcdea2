/**
 * The sandbox provider's domain: registered clients, users, issued tokens and the revoke styles it imitates. These are
 * plain data types plus the seeded defaults (documented in docs/sandbox.md), so tests and the admin API describe a
 * client the same way. Everything lives in memory: a sandbox is disposable and restarts empty apart from its seeds.
 */

/**
 * How a client's tokens are revoked. Each style lives at its own path and copies one real provider family from the
 * revoke catalogue; a client accepts only its own style (see REVOKE_STYLES for paths and what dies).
 */
export type RevokeStyle =
  | 'rfc7009-basic'
  | 'rfc7009-post'
  | 'query'
  | 'bearer'
  | 'json'
  | 'github-grant'
  | 'slack'
  | 'google'
  | 'delete-path'
  | 'header'
  | 'app-secret-header'
  | 'deauthorize'
  | 'stripe'
  | 'uninstall'
  | 'sign-in-sessions'
  | 'facebook'
  | 'installation-token'
  | 'app-jwt'
  | 'form-client-key'
  | 'json-post'
  | 'none';

/**
 * What a successful revocation kills.
 * - `token`: only the presented token (a refresh token still takes its access tokens, RFC 7009 §2.1 SHOULD);
 * - `token_or_refresh_family`: an access token alone, or a refresh token with every token of its family;
 * - `family`: every token of the authorization the token belongs to (Dropbox, Google, Adobe Sign's pair);
 * - `app_authorization`: every token of this client for this user, across authorizations (GitHub grant);
 * - `single_token`: exactly the presented token, nothing else (Slack `auth.revoke`);
 * - `app_refresh_tokens`: every refresh token of this client for this user; access tokens live on until they expire
 *   (Auth0, whose access tokens are self-contained JWTs);
 * - `user_refresh_tokens`: every refresh token of this user, of every client (Microsoft `revokeSignInSessions`).
 */
export type RevokeScope = 'token' | 'token_or_refresh_family' | 'family' | 'app_authorization' | 'single_token' | 'app_refresh_tokens' | 'user_refresh_tokens';

export interface RevokeStyleInfo {
  style: RevokeStyle;
  /** HTTP method and path of the style's endpoint, `null` when the style has none (Spotify). */
  method: 'POST' | 'DELETE' | 'GET|POST' | null;
  path: string | null;
  imitates: string;
  scope: RevokeScope | null;
  /** Further endpoints of the same style (one per provider it imitates), each with its own semantics. */
  alsoAt?: Array<{ method: 'POST' | 'DELETE'; path: string; imitates: string; scope: RevokeScope }>;
}

/** What each style with an endpoint kills, following the revoke catalogue's `scope` column. */
export const STYLE_SCOPE: Record<Exclude<RevokeStyle, 'none'>, RevokeScope> = {
  'rfc7009-basic': 'token_or_refresh_family',
  'rfc7009-post': 'token_or_refresh_family',
  query: 'token_or_refresh_family',
  bearer: 'family',
  json: 'token',
  'github-grant': 'app_authorization',
  slack: 'single_token',
  google: 'family',
  'delete-path': 'single_token',
  header: 'app_authorization',
  'app-secret-header': 'app_authorization',
  deauthorize: 'app_authorization',
  stripe: 'app_authorization',
  uninstall: 'app_authorization',
  'sign-in-sessions': 'user_refresh_tokens',
  facebook: 'app_authorization',
  'installation-token': 'single_token',
  'app-jwt': 'app_authorization',
  'form-client-key': 'token_or_refresh_family',
  'json-post': 'app_refresh_tokens',
};

/** The revoke styles, their endpoints and their semantics; docs/sandbox.md carries the same table. */
export const REVOKE_STYLES: Record<RevokeStyle, RevokeStyleInfo> = {
  'rfc7009-basic': { style: 'rfc7009-basic', method: 'POST', path: '/oauth/revoke', imitates: 'RFC 7009 with client_secret_basic (Zoom, Reddit, Canva)', scope: STYLE_SCOPE['rfc7009-basic'] },
  'rfc7009-post': { style: 'rfc7009-post', method: 'POST', path: '/oauth2/revoke', imitates: 'RFC 7009 with client_secret_post (Box, GitLab)', scope: STYLE_SCOPE['rfc7009-post'] },
  query: { style: 'query', method: 'GET|POST', path: '/services/oauth2/revoke', imitates: 'token in the query string, no client auth, 400 for an invalid token (Salesforce, Adobe Sign)', scope: STYLE_SCOPE['query'] },
  bearer: { style: 'bearer', method: 'POST', path: '/2/auth/token/revoke', imitates: 'access token as Bearer, no body (Dropbox)', scope: STYLE_SCOPE['bearer'] },
  json: { style: 'json', method: 'POST', path: '/v1/oauth/revoke', imitates: 'JSON body {token} with client_secret_basic (Notion, Intuit)', scope: STYLE_SCOPE['json'] },
  'github-grant': { style: 'github-grant', method: 'DELETE', path: '/applications/{client_id}/grant', imitates: 'DELETE with Basic auth and JSON {access_token}, kills the whole app authorization (GitHub)', scope: STYLE_SCOPE['github-grant'] },
  slack: { style: 'slack', method: 'POST', path: '/api/auth.revoke', imitates: 'HTTP 200 with {ok:false,error} on failure (Slack auth.revoke)', scope: STYLE_SCOPE['slack'] },
  google: { style: 'google', method: 'POST', path: '/revoke', imitates: 'form or query token, no client auth, 400 invalid_token for a dead token, kills the grant (Google)', scope: STYLE_SCOPE['google'] },
  'delete-path': {
    style: 'delete-path', method: 'DELETE', path: '/oauth/v1/refresh-tokens/{token}', imitates: 'the refresh token in the path, no auth, 204; access tokens live on (HubSpot v1)', scope: STYLE_SCOPE['delete-path'],
    alsoAt: [
      { method: 'DELETE', path: '/api/v2/oauth/tokens/{id}.json', imitates: 'bearer auth, id `current` (the bearer token) or a grant id, 204 (Zendesk)', scope: 'single_token' },
      { method: 'DELETE', path: '/v1.0/oauth2PermissionGrants/{id}', imitates: 'bearer auth, the grant id in the path, 204, the consent grant goes: refresh tokens die, access tokens live until they expire (Microsoft Graph)', scope: 'app_refresh_tokens' },
    ],
  },
  header: { style: 'header', method: 'DELETE', path: '/admin/api_permissions/current.json', imitates: 'the access token in X-Shopify-Access-Token, uninstalls the app (Shopify)', scope: STYLE_SCOPE.header },
  'app-secret-header': { style: 'app-secret-header', method: 'POST', path: '/square/oauth2/revoke', imitates: 'Authorization: Client <secret>, JSON {client_id, access_token}, kills the grant (Square)', scope: STYLE_SCOPE['app-secret-header'] },
  deauthorize: { style: 'deauthorize', method: 'POST', path: '/oauth/deauthorize', imitates: 'form access_token, no client auth, deauthorizes the app (Strava)', scope: STYLE_SCOPE.deauthorize },
  stripe: { style: 'stripe', method: 'POST', path: '/stripe/oauth/deauthorize', imitates: 'the client secret as Basic user (or Bearer), form client_id + stripe_user_id (Stripe Connect)', scope: STYLE_SCOPE.stripe },
  uninstall: {
    style: 'uninstall', method: 'POST', path: '/api/apps.uninstall', imitates: 'form client_id + client_secret + token, HTTP 200 with {ok} (Slack apps.uninstall)', scope: STYLE_SCOPE.uninstall,
    alsoAt: [{ method: 'DELETE', path: '/appinstalls/v3/external-install', imitates: 'the access token as Bearer, 204 (HubSpot uninstall)', scope: 'app_authorization' }],
  },
  'sign-in-sessions': { style: 'sign-in-sessions', method: 'POST', path: '/v1.0/me/revokeSignInSessions', imitates: "bearer auth, every refresh token of the user dies (Microsoft revokeSignInSessions)", scope: STYLE_SCOPE['sign-in-sessions'] },
  facebook: { style: 'facebook', method: 'DELETE', path: '/{version}/{user-id}/permissions', imitates: 'DELETE ?access_token=, user id or me, de-authorizes the app (Facebook Graph)', scope: STYLE_SCOPE.facebook },
  'installation-token': { style: 'installation-token', method: 'DELETE', path: '/installation/token', imitates: 'the token to revoke as Bearer, 204 (GitHub installation access token)', scope: STYLE_SCOPE['installation-token'] },
  'app-jwt': { style: 'app-jwt', method: 'DELETE', path: '/app/installations/{installation_id}', imitates: "a JWT signed with the app's key (RS256), uninstalls the app (GitHub App)", scope: STYLE_SCOPE['app-jwt'] },
  'form-client-key': { style: 'form-client-key', method: 'POST', path: '/v2/oauth/revoke/', imitates: 'form client_key + client_secret + token (TikTok)', scope: STYLE_SCOPE['form-client-key'] },
  'json-post': { style: 'json-post', method: 'POST', path: '/auth0/oauth/revoke', imitates: 'JSON {client_id, client_secret, token}, refresh tokens only, every refresh token of the app for the user (Auth0)', scope: STYLE_SCOPE['json-post'] },
  none: { style: 'none', method: null, path: null, imitates: 'no revoke endpoint at all: 404 (Spotify)', scope: null },
};

export const REVOKE_STYLE_NAMES = Object.keys(REVOKE_STYLES) as RevokeStyle[];

export const SCOPES = ['profile', 'files.read', 'files.write'] as const;

export interface SandboxClient {
  id: string;
  /** `null` for a public client: it authenticates with `client_id` only and must use PKCE. */
  secret: string | null;
  name: string;
  /** Exact redirect URIs (RFC 6749 §3.1.2.2: compared as strings). */
  redirectUris: string[];
  /**
   * Sandbox-only convenience: accept any `http` redirect URI on 127.0.0.1, localhost or [::1], any port and path, so
   * test servers on ephemeral ports need no registration. A real provider must never do this.
   */
  allowLoopbackRedirects: boolean;
  revokeStyle: RevokeStyle;
  /** Issue a new refresh token on every refresh and detect reuse of the old one (RFC 9700 §4.14.2). */
  rotateRefreshTokens: boolean;
  /** Access token lifetime in seconds; `null` uses the sandbox default. */
  accessTokenTtl: number | null;
  /** Refresh token lifetime in seconds; `null` uses the sandbox default; 0 means never expires. */
  refreshTokenTtl: number | null;
  /** Require PKCE S256 on the authorization request (always required for public clients). */
  pkceRequired: boolean;
  /** Skip the consent page for this client. */
  autoApprove: boolean;
  /**
   * When false, the RFC 7009 endpoints refuse access tokens with 400 `unsupported_token_type`, as a server that can
   * revoke only refresh tokens does (RFC 7009 §2.2.1).
   */
  accessTokenRevocation: boolean;
  /** The success status of the RFC 7009 endpoints: 200 (the RFC) or 204 (Reddit). */
  revokeSuccessStatus: 200 | 204;
  scopes: string[];
}

export interface SandboxUser {
  id: string;
  username: string;
  name: string;
  email: string;
}

export type TokenKind = 'access_token' | 'refresh_token';

export type TokenState = 'active' | 'revoked' | 'expired' | 'rotated' | 'unknown';

export interface TokenRecord {
  value: string;
  kind: TokenKind;
  clientId: string;
  /** `null` for client-credentials tokens. */
  userId: string | null;
  scope: string;
  /** One authorization (a code exchange or a client-credentials grant) and every token refreshed from it. */
  familyId: string;
  issuedAt: number;
  /** Epoch milliseconds; `null` never expires. */
  expiresAt: number | null;
  revokedAt: number | null;
  /** Why the token died: the revoke style, `reuse_detected`, `code_replay`, `admin`. */
  revokedBy: string | null;
  /** Refresh tokens only: set when rotation replaced this token; presenting it again is reuse. */
  rotatedAt: number | null;
}

export interface TokenFamily {
  id: string;
  clientId: string;
  userId: string | null;
  tokens: Set<string>;
}

/** What a test sees when it looks a token up (the token value itself is never echoed). */
export interface TokenLookup {
  state: TokenState;
  kind?: TokenKind;
  clientId?: string;
  userId?: string | null;
  scope?: string;
  familyId?: string;
  expiresAt?: string | null;
  revokedAt?: string | null;
  revokedBy?: string | null;
}

export const DEFAULT_ACCESS_TOKEN_TTL = 3600;
export const DEFAULT_REFRESH_TOKEN_TTL = 30 * 24 * 3600;

/** Redirect URIs registered on every seeded client, beside the loopback allowance. */
export const DEFAULT_REDIRECT_URIS = [
  'http://127.0.0.1:8080/oauth/callback',
  'http://localhost:8080/oauth/callback',
];

export function clientDefaults(id: string): SandboxClient {
  return {
    id,
    secret: `${id}-secret`,
    name: id,
    redirectUris: [...DEFAULT_REDIRECT_URIS],
    allowLoopbackRedirects: true,
    revokeStyle: 'rfc7009-basic',
    rotateRefreshTokens: false,
    accessTokenTtl: null,
    refreshTokenTtl: null,
    pkceRequired: false,
    autoApprove: false,
    accessTokenRevocation: true,
    revokeSuccessStatus: 200,
    scopes: [...SCOPES],
  };
}

/** The clients every sandbox starts with: the demo client, a rotating one, a public one and one per revoke style. */
export function seedClients(): SandboxClient[] {
  const demo: SandboxClient = { ...clientDefaults('plugboard-demo'), secret: 'plugboard-demo-secret', name: 'Plugboard demo' };
  const rotating: SandboxClient = { ...clientDefaults('plugboard-rotating'), name: 'Plugboard demo (rotating refresh tokens)', rotateRefreshTokens: true };
  // RFC 9700 §4.14.2: refresh tokens of public clients MUST be sender-constrained or rotated; the sandbox rotates.
  const pub: SandboxClient = { ...clientDefaults('plugboard-public'), secret: null, name: 'Plugboard public client', pkceRequired: true, rotateRefreshTokens: true };
  const perStyle: SandboxClient[] = REVOKE_STYLE_NAMES.map((style) => ({
    ...clientDefaults(`sandbox-${style}`),
    name: `Revoke style ${style}`,
    revokeStyle: style,
  }));
  return [demo, rotating, pub, ...perStyle];
}

export function seedUsers(): SandboxUser[] {
  return [
    { id: 'user-alice', username: 'alice', name: 'Alice Example', email: 'alice@sandbox.test' },
    { id: 'user-bob', username: 'bob', name: 'Bob Example', email: 'bob@sandbox.test' },
    { id: 'user-carol', username: 'carol', name: 'Carol Example', email: 'carol@sandbox.test' },
  ];
}

/** Files the protected API serves per user: fixed, so tests can assert on them. */
export function seedFiles(userId: string): Array<{ id: string; name: string; size: number }> {
  const owner = userId.replace(/^user-/, '');
  return [
    { id: `${owner}-1`, name: `${owner}-notes.txt`, size: 128 },
    { id: `${owner}-2`, name: `${owner}-report.pdf`, size: 20480 },
  ];
}

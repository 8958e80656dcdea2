/**
 * The connector definition format (Zod 4). A connector is data: identity (key, name, description), a base URL that a
 * connection may override, one auth type with its OAuth 2.0 settings, how credentials are applied to API calls, the
 * page where a person removes the app by hand, the catalogue provenance of its revocation, its flows, and a loudly
 * named opt-in for plain-HTTP or private-network targets. `load.ts` parses YAML into this schema with located errors;
 * `json-schema.ts` exports it for editors. Semantic checks that span fields (URL security, flow kinds) live in the
 * `superRefine` at the end so every problem is reported with its path in one pass.
 */

import { z } from 'zod';
import { FlowListSchema } from './flow-shape.ts';

/** A URL that may hold `{name}` placeholders filled from the connection's configuration (`https://{shop}.myshopify.com`). */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function urlTemplatePlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** Fills `{name}` placeholders; a missing value is an error for the caller to report (never a silent empty host). */
export function fillUrlTemplate(template: string, values: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined || value === null || value === '') {
      throw new Error(`the URL ${template} needs the configuration value "${name}"`);
    }
    return encodeURIComponent(String(value));
  });
}

/** Parses a URL template with placeholders replaced by a neutral label, so the shape of the URL can be checked. */
export function parseUrlTemplate(template: string): URL | undefined {
  if (!URL.canParse(template.replace(PLACEHOLDER, 'x'))) return undefined;
  return new URL(template.replace(PLACEHOLDER, 'x'));
}

/** An error message that says "missing" when the key is absent and what is expected otherwise. */
function expecting(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `missing: ${what}` : what);
}

const UrlTemplateSchema = z
  .string({ error: expecting('expected a URL such as https://api.example.com (placeholders like {subdomain} are allowed)') })
  .min(1, 'expected a URL, got an empty string')
  .refine((value) => {
    const url = parseUrlTemplate(value);
    return url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:');
  }, 'expected an absolute http(s) URL such as https://api.example.com (placeholders like {subdomain} are allowed)')
  .describe('An absolute https URL; `{name}` placeholders are filled from the connection configuration.');

const HttpUrlSchema = z
  .string({ error: expecting('expected a URL such as https://example.com/settings/apps') })
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const protocol = new URL(value).protocol;
    return protocol === 'https:' || protocol === 'http:';
  }, 'expected an absolute http(s) URL such as https://example.com/settings/apps');

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HeaderNameSchema = z.string().regex(HEADER_NAME, 'expected an HTTP header name such as X-Api-Key (RFC 9110 §5.1 token characters)');

/**
 * How the credential is placed on each API call; the proxy and the httpHelper flows follow it.
 * `bearer`: `Authorization: <scheme> <token>`; `header`: a named header (with an optional prefix); `query`: a named
 * query parameter; `basic`: `Authorization: Basic base64(username:password)` (@see RFC 7617 §2).
 */
export const CredentialPlacementSchema = z.discriminatedUnion(
  'in',
  [
    z.strictObject({
      in: z.literal('bearer'),
      scheme: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'expected an auth scheme such as Bearer').default('Bearer'),
    }),
    z.strictObject({ in: z.literal('header'), name: HeaderNameSchema, prefix: z.string().default('') }),
    z.strictObject({ in: z.literal('query'), name: z.string().min(1, 'expected the query parameter name') }),
    z.strictObject({ in: z.literal('basic') }),
  ],
  {
    error: (issue) =>
      issue.input === undefined
        ? 'missing: expected an object whose `in` is bearer, header, query or basic'
        : 'expected `in` to be one of: bearer, header, query, basic',
  },
);
export type CredentialPlacement = z.output<typeof CredentialPlacementSchema>;

/** Dot paths into a non-standard token response (`data.access_token`); the defaults are RFC 6749 §5.1 names. */
const ResponsePath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'expected a dot path such as data.access_token');
export const TokenResponseMappingSchema = z.strictObject({
  accessToken: ResponsePath.default('access_token'),
  refreshToken: ResponsePath.default('refresh_token'),
  tokenType: ResponsePath.default('token_type'),
  scope: ResponsePath.default('scope'),
  /** Seconds until expiry (RFC 6749 §5.1 `expires_in`). */
  expiresIn: ResponsePath.default('expires_in'),
  /** An absolute expiry (epoch seconds or ISO-8601), for providers that send one instead of `expires_in`. */
  expiresAt: ResponsePath.optional(),
  /** Providers that answer errors with HTTP 200 (Slack `ok: false`): the path of the success flag. */
  okFlag: ResponsePath.optional(),
});
export type TokenResponseMapping = z.output<typeof TokenResponseMappingSchema>;

const StringMap = z.record(z.string(), z.string({ error: 'expected a text value' }));

/** Settings shared by both OAuth 2.0 grants. @see RFC 6749 §2.3 (client authentication), §3.3 (scope), §5.1. */
const OAuthCommon = {
  tokenUrl: UrlTemplateSchema,
  /** Where refresh requests go when the provider uses another endpoint; defaults to `tokenUrl`. */
  refreshUrl: UrlTemplateSchema.optional(),
  /** RFC 7009 revocation endpoint; used by a standard revocation when the connector has no `_revoke` flow. */
  revocationUrl: UrlTemplateSchema.optional(),
  /** RFC 7662 introspection endpoint; used to verify a revocation (`active: false`). */
  introspectionUrl: UrlTemplateSchema.optional(),
  scopes: z.array(z.string().min(1, 'expected a non-empty scope')).default([]),
  scopeSeparator: z.string().min(1).default(' '),
  clientAuthentication: z
    .enum(['client_secret_basic', 'client_secret_post'], { error: 'expected client_secret_basic or client_secret_post' })
    .default('client_secret_basic'),
  /** Extra parameters sent with every token request (for example an `audience`). */
  tokenParameters: StringMap.default({}),
  /**
   * The name under which the provider expects the client id on the authorize URL and in token request bodies, when it
   * is not `client_id` (TikTok: `client_key`). The standard `client_id` is still sent where RFC 6749 requires it.
   */
  clientIdParameter: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'expected a parameter name such as client_key')
    .default('client_id'),
  tokenResponse: TokenResponseMappingSchema.prefault({}),
  apply: CredentialPlacementSchema.default({ in: 'bearer', scheme: 'Bearer' }),
};

export const OAuthAuthorizationCodeSchema = z.strictObject({
  type: z.literal('oauth2_authorization_code'),
  authorizationUrl: UrlTemplateSchema,
  ...OAuthCommon,
  /** The issuer identifier the provider sends as `iss` (@see RFC 9207 §2); defaults to the authorization URL's origin. */
  issuer: UrlTemplateSchema.optional(),
  /** PKCE with S256 (@see RFC 7636 §4.2); on by default, off only for providers that reject it. */
  pkce: z.boolean().default(true),
  /** Extra authorize parameters (`access_type: offline`, `prompt: consent`). */
  authorizeParameters: StringMap.default({}),
});

export const OAuthClientCredentialsSchema = z.strictObject({
  type: z.literal('oauth2_client_credentials'),
  ...OAuthCommon,
});

export const BasicAuthSchema = z.strictObject({
  type: z.literal('basic'),
  apply: CredentialPlacementSchema.default({ in: 'basic' }),
});

/** An API key (custom field) and where it goes. */
export const CustomAuthSchema = z.strictObject({
  type: z.literal('custom'),
  label: z.string().min(1).default('API key'),
  description: z.string().optional(),
  apply: CredentialPlacementSchema,
});

export const AUTH_TYPES = ['oauth2_authorization_code', 'oauth2_client_credentials', 'basic', 'custom'] as const;
export const AuthSchema = z.discriminatedUnion(
  'type',
  [OAuthAuthorizationCodeSchema, OAuthClientCredentialsSchema, BasicAuthSchema, CustomAuthSchema],
  {
    error: (issue) =>
      issue.input === undefined
        ? `missing: expected an object whose \`type\` is one of: ${AUTH_TYPES.join(', ')}`
        : `expected \`type\` to be one of: ${AUTH_TYPES.join(', ')}`,
  },
);
export type ConnectorAuth = z.output<typeof AuthSchema>;
export type OAuthSettings = z.output<typeof OAuthAuthorizationCodeSchema> | z.output<typeof OAuthClientCredentialsSchema>;

/** A non-secret per-connection value (a Salesforce My Domain, a Zendesk subdomain); it fills `{name}` URL placeholders. */
export const ConfigurationFieldSchema = z.strictObject({
  key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a configuration key of letters, digits and _'),
  label: z.string().min(1),
  description: z.string().optional(),
  required: z.boolean().default(true),
  default: z.string().optional(),
});

/** Revocation provenance, from the shared revoke catalogue. Values mirror its `tokenIn`, `clientAuth` and `scope` sets. */
/** The catalogue's `tokenIn` values (`none`: no token parameter, the caller's credential is used) plus `no_endpoint`. */
export const REVOCATION_STYLES = ['form_body', 'json_body', 'query', 'path', 'bearer_header', 'header', 'none', 'no_endpoint'] as const;
export const REVOCATION_CLIENT_AUTH = [
  'client_secret_basic', 'client_secret_post', 'none', 'bearer_access_token', 'app_jwt', 'secret_api_key', 'app_secret_header',
] as const;
export const RevocationProvenanceSchema = z.strictObject({
  /** How the token travels to the revoke endpoint; `no_endpoint` when the provider has none. */
  style: z.enum(REVOCATION_STYLES, { error: `expected one of: ${REVOCATION_STYLES.join(', ')}` }),
  clientAuth: z.enum(REVOCATION_CLIENT_AUTH).optional(),
  /** What dies at the provider: a single token, the token pair, the whole grant, the installation... */
  scope: z.string().min(1).optional(),
  successStatus: z.number().int().min(100).max(599).nullable().optional(),
  /** `true` only when the endpoint and request shape were seen in the provider's own documentation or SDK. */
  confirmed: z.boolean({ error: expecting('expected true or false: was the revoke endpoint seen in the provider documentation?') }),
  /** Where the row comes from (documentation page). */
  source: HttpUrlSchema.nullable(),
  /** The catalogue row this connector follows, when the provider has several. */
  catalogueRow: z.string().min(1).optional(),
  /** A plain statement of what is known and what to re-verify; required when `confirmed` is false. */
  statement: z.string().min(1).optional(),
});
export type RevocationProvenance = z.output<typeof RevocationProvenanceSchema>;

export const InsecureTargetsSchema = z.strictObject({
  /** Allow `http://` targets. For the sandbox and local testing only. */
  plainHttp: z.boolean().default(false),
  /** Allow loopback, private, link-local and unique-local targets. For the sandbox and local testing only. */
  privateNetwork: z.boolean().default(false),
});

const KEY_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

const ConnectorShape = z.strictObject({
  $schema: z.string().optional(),
  key: z.string({ error: expecting('expected the connector key, e.g. "box"') }).regex(KEY_PATTERN, 'expected a key of lowercase letters, digits and dashes starting with a letter, at most 63 characters (e.g. "google-drive")'),
  name: z.string({ error: expecting('expected the display name, e.g. "Box"') }).min(1, 'expected a non-empty display name'),
  description: z.string().default(''),
  baseUrl: UrlTemplateSchema,
  configuration: z.array(ConfigurationFieldSchema).default([]),
  auth: AuthSchema,
  /** The provider page where a person removes the app's access by hand. */
  unregisterUrl: HttpUrlSchema.nullable().default(null),
  revocation: RevocationProvenanceSchema.optional(),
  /** Loud, explicit opt-in for plain-HTTP or private-network targets; off by default. */
  dangerouslyAllowInsecureTargets: InsecureTargetsSchema.prefault({}),
  /** Proxied calls: retries on 429 (honouring Retry-After) and 502/503/504 (backoff), off by default; see docs/proxy.md. */
  proxy: z.strictObject({ retries: z.number().int().min(0).max(5, 'expected 0 to 5 retries').default(0) }).prefault({}),
  flows: FlowListSchema.default([]),
});

const PRIVATE_V4 = [/^127\./, /^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^169\.254\./, /^0\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./];

/** A literal private host in a definition (the runtime SSRF guard also resolves DNS; this catches the obvious at load). */
function isLiteralPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) return true;
  if (PRIVATE_V4.some((re) => re.test(host))) return true;
  if (host === '::1' || host === '::' || /^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host)) return true;
  return host.startsWith('::ffff:') && PRIVATE_V4.some((re) => re.test(host.slice(7)));
}

/** Every target URL of a definition with its path, for the security check and for tests that repoint a connector. */
export function targetUrls(def: {
  baseUrl: string;
  auth: { type: string } & Partial<Record<'authorizationUrl' | 'tokenUrl' | 'refreshUrl' | 'revocationUrl' | 'introspectionUrl', string | undefined>>;
}): Array<{ path: (string | number)[]; url: string }> {
  const out: Array<{ path: (string | number)[]; url: string }> = [{ path: ['baseUrl'], url: def.baseUrl }];
  for (const field of ['authorizationUrl', 'tokenUrl', 'refreshUrl', 'revocationUrl', 'introspectionUrl'] as const) {
    const url = def.auth[field];
    if (typeof url === 'string') out.push({ path: ['auth', field], url });
  }
  return out;
}

export const ConnectorDefinitionSchema = ConnectorShape.superRefine((def, ctx) => {
  const insecure = def.dangerouslyAllowInsecureTargets;
  for (const { path, url } of targetUrls(def)) {
    const parsed = parseUrlTemplate(url);
    if (parsed === undefined) continue;
    if (parsed.protocol === 'http:' && !insecure.plainHttp) {
      ctx.addIssue({ code: 'custom', path, message: `expected an https URL; ${url} is plain HTTP (set dangerouslyAllowInsecureTargets.plainHttp: true only for local testing)` });
    }
    if (isLiteralPrivateHost(parsed.hostname) && !insecure.privateNetwork) {
      ctx.addIssue({ code: 'custom', path, message: `expected a public host; ${parsed.hostname} is loopback or private (set dangerouslyAllowInsecureTargets.privateNetwork: true only for local testing)` });
    }
  }
  const configKeys = new Set(def.configuration.map((field) => field.key));
  for (const { path, url } of targetUrls(def)) {
    for (const name of urlTemplatePlaceholders(url)) {
      if (!configKeys.has(name)) {
        ctx.addIssue({ code: 'custom', path, message: `the placeholder {${name}} needs a matching entry in configuration (key: ${name})` });
      }
    }
  }
  const seenConfig = new Set<string>();
  def.configuration.forEach((field, index) => {
    if (seenConfig.has(field.key)) ctx.addIssue({ code: 'custom', path: ['configuration', index, 'key'], message: `duplicate configuration key "${field.key}"` });
    seenConfig.add(field.key);
  });
  if (def.revocation && !def.revocation.confirmed && def.revocation.statement === undefined) {
    ctx.addIssue({ code: 'custom', path: ['revocation', 'statement'], message: 'expected a plain statement of what is unconfirmed and what to re-verify, because revocation.confirmed is false' });
  }
  if (def.auth.type === 'custom' && def.auth.apply.in === 'basic') {
    ctx.addIssue({ code: 'custom', path: ['auth', 'apply', 'in'], message: 'an API key goes in a header, a query parameter or a bearer header; use auth.type basic for username and password' });
  }
});

export type ConnectorDefinition = z.output<typeof ConnectorDefinitionSchema>;
export type ConnectorDefinitionInput = z.input<typeof ConnectorDefinitionSchema>;

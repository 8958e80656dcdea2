/**
 * Turns a connector definition plus one connection's configuration into what the OAuth client needs: URL templates
 * filled (`https://{domain}.example.com/oauth/token`), the token response mapping, client authentication and the two
 * explicit opt-ins (plain HTTP, private network) carried over unchanged. A missing configuration value is a located
 * validation error, never a request to a half-built URL.
 */
import { PlugboardError } from '../core/errors.ts';
import { fillUrlTemplate, type ConnectorDefinition } from '../connectors/schema.ts';
import type { OAuthProvider } from './oauth.ts';

export function isOAuthConnector(def: ConnectorDefinition): boolean {
  return def.auth.type === 'oauth2_authorization_code' || def.auth.type === 'oauth2_client_credentials';
}

/** Fills a URL template from the configuration, reporting a missing value where the caller can fix it. */
export function fillTemplate(template: string, configuration: Record<string, unknown>, where: string): string {
  try {
    return fillUrlTemplate(template, configuration);
  } catch (error) {
    const missing = /"([^"]+)"/.exec((error as Error).message)?.[1] ?? 'a value';
    throw new PlugboardError('VALIDATION_FAILED', `The connector's ${where} needs the configuration value "${missing}".`, {
      details: [{ path: `body.configuration.${missing}`, message: `expected a value for ${missing}; the connector's ${where} is built from it` }],
    });
  }
}

export function baseUrlOf(def: ConnectorDefinition, configuration: Record<string, unknown>, override: string | null): string {
  return override ?? fillTemplate(def.baseUrl, configuration, 'baseUrl');
}

export function providerFromConnector(def: ConnectorDefinition, configuration: Record<string, unknown>): OAuthProvider {
  const auth = def.auth;
  if (auth.type !== 'oauth2_authorization_code' && auth.type !== 'oauth2_client_credentials') {
    throw new PlugboardError('VALIDATION_FAILED', `The connector ${def.key} uses ${auth.type} auth, not OAuth 2.0.`, { details: [{ path: 'element.key', message: 'expected a connector whose auth.type is oauth2_authorization_code or oauth2_client_credentials' }] });
  }
  const provider: OAuthProvider = {
    tokenUrl: fillTemplate(auth.tokenUrl, configuration, 'auth.tokenUrl'),
    scopes: auth.scopes,
    scopeSeparator: auth.scopeSeparator,
    pkce: auth.type === 'oauth2_authorization_code' ? auth.pkce : false,
    clientAuth: auth.clientAuthentication,
    authorizeParams: auth.type === 'oauth2_authorization_code' ? auth.authorizeParameters : {},
    tokenParams: auth.tokenParameters,
    clientIdParam: auth.clientIdParameter,
    tokenResponse: auth.tokenResponse,
    allowInsecureRequests: def.dangerouslyAllowInsecureTargets.plainHttp,
    allowPrivateTargets: def.dangerouslyAllowInsecureTargets.privateNetwork,
  };
  if (auth.type === 'oauth2_authorization_code') {
    provider.authorizationUrl = fillTemplate(auth.authorizationUrl, configuration, 'auth.authorizationUrl');
    // @see RFC 9207 §2.4: the `iss` of the authorization response is compared with this identifier.
    if (auth.issuer !== undefined) provider.issuer = fillTemplate(auth.issuer, configuration, 'auth.issuer');
  }
  if (auth.refreshUrl !== undefined) provider.refreshUrl = fillTemplate(auth.refreshUrl, configuration, 'auth.refreshUrl');
  return provider;
}

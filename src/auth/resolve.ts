/**
 * Where the connections area finds a connection's connector definition and OAuth client. The connector comes from the
 * connectors resolver (an organization's private version first, then the built-in catalogue); the OAuth client is
 * the connection's own (given per request as `apiKey`/`apiSecret`, Open Connectors style, or stored with a client
 * credentials connection) or else the organization's OAuth app for that connector. Both lookups are tenant-scoped.
 */
import { PlugboardError } from '../core/errors.ts';
import { getConnector, getOAuthApp, type ConnectorContext, type ResolvedConnector } from '../connectors/resolve.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import { openSecret, type ConnectionRow } from '../store/connections.ts';
import type { OAuthClientCredentials } from './oauth.ts';

export type ResolveContext = ConnectorContext;

/** The connector entry (definition plus compiled flows); NOT_FOUND names where the key was expected. */
export async function resolveConnectorEntry(ctx: ResolveContext, orgId: string, key: string): Promise<ResolvedConnector> {
  return getConnector(ctx, orgId, key);
}

export async function resolveConnector(ctx: ResolveContext, orgId: string, key: string): Promise<ConnectorDefinition> {
  return (await resolveConnectorEntry(ctx, orgId, key)).definition;
}

/** The columns a connection's own OAuth client is read from. */
export type ClientColumns = Pick<ConnectionRow, 'id' | 'org_id' | 'client_id' | 'client_secret'>;

function clientOfRow(ctx: ResolveContext, row: ClientColumns | null): OAuthClientCredentials | null {
  if (row === null || row.client_id === null) return null;
  const secret = openSecret(ctx.vault, row, 'client_secret');
  return secret === null ? null : { clientId: row.client_id, clientSecret: secret };
}

export async function resolveOAuthClient(ctx: ResolveContext, orgId: string, def: ConnectorDefinition, row: ClientColumns | null): Promise<OAuthClientCredentials> {
  const own = clientOfRow(ctx, row);
  if (own !== null) return own;
  const app = await getOAuthApp(ctx, orgId, def.key);
  if (app !== null) return app;
  throw new PlugboardError('NOT_FOUND', `No OAuth app is configured for the connector ${def.key} in this organization.`, {
    details: [{ path: 'element.key', message: `set one with PUT /elements/${def.key}/oauth-app, or pass apiKey and apiSecret with the request` }],
  });
}

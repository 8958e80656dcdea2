/**
 * `PUT /elements/{key}/oauth-app`: set the organization's OAuth app (client id and secret) for a connector. The secret
 * is sealed in the vault and never returned, logged or shown again; the response says only that it is set.
 */
import { defineRoute } from './route.ts';
import { ElementKeyParamsSchema, OAuthAppBodySchema, OAuthAppSchema } from './contracts/elements.ts';
import { getConnector } from '../connectors/resolve.ts';
import { upsertOAuthApp } from '../store/connectors.ts';
import { PlugboardError } from '../core/errors.ts';

export default defineRoute({
  method: 'PUT',
  url: '/elements/:key/oauth-app',
  auth: 'org',
  permission: 'elements:write',
  summary: "Set the organization's OAuth app for a connector",
  tags: ['elements'],
  schema: { params: ElementKeyParamsSchema, body: OAuthAppBodySchema, response: { 200: OAuthAppSchema } },
  async handler(request) {
    const orgId = request.principal.orgId;
    const entry = await getConnector(request.ctx, orgId, request.params.key);
    const authType = entry.definition.auth.type;
    if (authType !== 'oauth2_authorization_code' && authType !== 'oauth2_client_credentials') {
      throw new PlugboardError('VALIDATION_FAILED', `The connector ${entry.key} uses ${authType} auth and has no OAuth app.`, {
        details: [{ path: 'params.key', message: 'expected a connector whose auth type is oauth2_authorization_code or oauth2_client_credentials' }],
      });
    }
    const app = await upsertOAuthApp(request.ctx.store.db, request.ctx.vault, orgId, {
      connectorKey: entry.key, clientId: request.body.clientId, clientSecret: request.body.clientSecret,
    });
    return { key: entry.key, clientId: app.clientId, clientSecretSet: true as const, createdAt: app.createdAt, updatedAt: app.updatedAt };
  },
});

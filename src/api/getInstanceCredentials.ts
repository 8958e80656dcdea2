/**
 * `GET /instances/{id}/credentials`: the connection's current credentials for callers who call the provider
 * themselves (seed 002 reads the token from the instance). For OAuth the access token is refreshed first when it is
 * expired or about to expire. Only keys holding `credentials:read` may call it, and every call is recorded as an
 * event `instance.credentials.read` (who asked; never the value).
 */
import { defineRoute } from './route.ts';
import { CredentialsResponseSchema, InstanceIdParamsSchema } from './contracts/instances.ts';
import { openSecret, requireConnection } from '../store/connections.ts';
import { recordEvent } from '../store/events.ts';
import { getFreshAccessToken } from '../auth/tokens.ts';
import { assertUsable } from '../core/connection.ts';
import { stateOf } from '../store/connections.ts';

export default defineRoute({
  method: 'GET',
  url: '/instances/:id/credentials',
  auth: 'org',
  permission: 'credentials:read',
  summary: 'Read the current credentials of an instance',
  tags: ['instances'],
  schema: { params: InstanceIdParamsSchema, response: { 200: CredentialsResponseSchema } },
  async handler(request, reply) {
    const { ctx, principal } = request;
    const row = await requireConnection(ctx.store.db, principal.orgId, request.params.id);
    assertUsable(stateOf(row));
    const caller = { userId: principal.userId, keyId: principal.apiKeyId, requestId: request.id };
    reply.header('cache-control', 'no-store');
    if (row.auth_type === 'basic' || row.auth_type === 'custom') {
      await recordEvent(ctx.store.db, principal.orgId, { type: 'instance.credentials.read', instanceId: row.id, data: { caller, refreshed: false } });
      if (row.auth_type === 'basic') return { type: 'basic' as const, username: openSecret(ctx.vault, row, 'username') ?? '', password: openSecret(ctx.vault, row, 'password') ?? '' };
      return { type: 'custom' as const, apiKey: openSecret(ctx.vault, row, 'api_key') ?? '' };
    }
    const token = await getFreshAccessToken(ctx, principal.orgId, row.id);
    await recordEvent(ctx.store.db, principal.orgId, { type: 'instance.credentials.read', instanceId: row.id, data: { caller, refreshed: token.refreshed } });
    return { type: 'oauth2' as const, accessToken: token.accessToken, tokenType: token.tokenType, expiresAt: token.expiresAt, refreshed: token.refreshed };
  },
});

/**
 * A refresh and a revocation of the same connection never overlap, and the latest refresh token is the one revoked:
 * with rotating refresh tokens, a DELETE that arrives while a (slow) refresh is in flight waits for the connection's
 * lock, then revokes the freshly rotated grant, so no new token pair survives at the provider. The connector is a
 * private deploy of the sandbox connector, resolved by the same registry the token refresh uses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getFreshAccessToken } from '../../src/auth/tokens.ts';
import { resolveConnector } from '../../src/auth/resolve.ts';
import { startRevocationFixture, seedConnection, type RevocationFixture } from './support.ts';

describe('refresh and revocation of one connection', () => {
  let f: RevocationFixture;
  before(async () => {
    f = await startRevocationFixture();
    const definition = { ...f.connector, key: 'sandbox-local', name: 'Sandbox (test deploy)' } as Record<string, unknown>;
    delete definition.$schema;
    const deployed = await f.app.call('POST', '/elements', { body: definition });
    assert.equal(deployed.status, 201, deployed.text);
    // The registry's resolver, as in production: the private connector comes from the store.
    f.service.resolveConnector = (orgId, key) => resolveConnector(f.app.ctx, orgId, key);
  });
  after(async () => {
    await f.close();
  });

  test('DELETE during a slow refresh waits for it and revokes the rotated grant, not the stale one', async () => {
    const c = await seedConnection(f, {
      elementKey: 'sandbox-local',
      clientId: 'plugboard-rotating',
      clientSecret: 'plugboard-rotating-secret',
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    f.sandbox.admin.setFault('token', { kind: 'latency', latencyMs: 500, times: 1 });
    let refreshedAt = 0;
    let deletedAt = 0;
    const refreshing = getFreshAccessToken(f.app.ctx, f.orgId, c.id).then((token) => {
      refreshedAt = performance.now();
      return token;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const deleting = f.app.call('DELETE', `/instances/${c.id}`).then((res) => {
      deletedAt = performance.now();
      return res;
    });
    const [fresh, deleted] = await Promise.all([refreshing, deleting]);
    assert.ok(refreshedAt < deletedAt, 'the delete waited for the refresh holding the lock');
    assert.equal(fresh.refreshed, true);
    assert.notEqual(fresh.accessToken, c.accessToken);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.revoked, true);
    assert.notEqual(f.sandbox.admin.tokenState(c.refreshToken as string).state, 'active');
    assert.equal(f.sandbox.admin.tokenState(fresh.accessToken).state, 'revoked', 'the grant minted by the refresh is revoked');
  });
});

/**
 * Seed 002 as one automated walkthrough, on a real app against the sandbox provider: list instances; find the token;
 * revoke it directly at the provider; any proxied call now answers 401 INVALID_ACCESS_TOKEN and the instance shows
 * `valid: false`; get a new OAuth URL; authorize (sandbox auto-approve); PATCH /instances/{id} with the new code; the
 * proxied call succeeds again; same instance id. A second test shows the opposite case the proxy must heal by itself:
 * only the access token revoked, the refresh token still good, so the call refreshes once and succeeds.
 */

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { deployConnector, hostedCallback, sandboxDefinition, startAndAuthorize } from '../connections/fixtures.ts';

let app: TestApp;
let sandbox: Sandbox;
const CLIENT = { id: 'pb-seed002', secret: 'pb-seed002-secret' };

before(async () => {
  [app, sandbox] = await Promise.all([startTestApp(), startSandbox({ autoApprove: true })]);
  sandbox.admin.createClient({ id: CLIENT.id, secret: CLIENT.secret });
  await deployConnector(app, sandboxDefinition(sandbox, 'sbx-seed'), CLIENT);
});

after(async () => {
  await Promise.all([app.close(), sandbox.close()]);
});

async function connect(tag: string): Promise<{ id: string }> {
  const { params } = await startAndAuthorize(app, 'sbx-seed', { name: `Seed ${tag}`, tags: tag });
  assert.equal((await hostedCallback(app, params)).status, 200);
  const [instance] = (await app.call('GET', `/instances?tags=${tag}`)).body.instances;
  assert.ok(instance, 'the hosted callback created the instance');
  return instance;
}

test('seed 002: revoke at the provider, 401 INVALID_ACCESS_TOKEN, re-authenticate in place, calls work again', async () => {
  await connect('seed002');
  // 1. GET /instances with the organization's credentials.
  const listed = await app.call('GET', '/instances?tags=seed002');
  assert.equal(listed.status, 200);
  const instance = listed.body.instances[0];
  assert.equal(instance.valid, true);
  assert.equal((await app.call('GET', `/instances/${instance.id}/proxy/api/me`)).status, 200);

  // 2. Retrieve the current token (Plugboard shows it only through the audited credentials endpoint).
  const token: string = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
  assert.ok(token.length > 10);

  // 3. Revoke it directly at the provider (the whole grant, as Adobe Sign does), confirm 200.
  const revokedCount = sandbox.admin.revokeToken(token, 'family');
  assert.ok(revokedCount >= 1);
  assert.equal(sandbox.admin.tokenState(token).state, 'revoked');

  // 4. Any endpoint of the instance now answers 401 INVALID_ACCESS_TOKEN; the instance shows valid: false.
  for (const path of ['/api/me', '/api/files']) {
    const dead = await app.call('GET', `/instances/${instance.id}/proxy${path}`);
    assert.equal(dead.status, 401, dead.text);
    assert.equal(dead.body.code, 'INVALID_ACCESS_TOKEN');
    assert.equal(typeof dead.body.requestId, 'string');
    assert.ok('providerMessage' in dead.body, 'the provider answer is attached');
  }
  const shown = await app.call('GET', `/instances/${instance.id}`);
  assert.equal(shown.body.valid, false);
  assert.equal(shown.body.status, 'invalid');

  // 5-6. A new OAuth URL for this instance; the sandbox approves and redirects with a code.
  const again = await startAndAuthorize(app, 'sbx-seed', { instanceId: instance.id, callbackUrl: 'http://127.0.0.1:9999/cb' });
  assert.ok(again.params.get('code'));

  // 7. PATCH /instances/{id} with providerData.code.
  const patched = await app.call('PATCH', `/instances/${instance.id}`, { body: { providerData: { code: again.params.get('code'), state: again.params.get('state') } } });
  assert.equal(patched.status, 200, patched.text);

  // 8. Same instance, valid again, and calls through it work.
  assert.equal(patched.body.id, instance.id);
  assert.equal(patched.body.valid, true);
  const alive = await app.call('GET', `/instances/${instance.id}/proxy/api/me`);
  assert.equal(alive.status, 200, alive.text);
  assert.equal((await app.call('GET', '/instances?tags=seed002')).body.instances.length, 1, 'no second instance was created');

  const types = (await app.call('GET', `/events?instanceId=${instance.id}`)).body.events.map((e: { type: string }) => e.type);
  assert.ok(types.includes('instance.invalidated'), types.join(','));
  assert.ok(types.includes('instance.reauthenticated'), types.join(','));
  const everything = JSON.stringify(await app.call('GET', `/events?instanceId=${instance.id}`)) + app.logs.join('\n');
  assert.ok(!everything.includes(token), 'the revoked token never appears in events or logs');
});

test('only the access token revoked: the proxy refreshes once, retries once, and the call succeeds', async () => {
  const instance = await connect('heal');
  const token: string = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
  const refreshesBefore = sandbox.admin.count('token', { clientId: CLIENT.id });
  sandbox.admin.revokeToken(token, 'token');
  const res = await app.call('GET', `/instances/${instance.id}/proxy/api/me`);
  assert.equal(res.status, 200, res.text);
  assert.equal(sandbox.admin.count('token', { clientId: CLIENT.id }) - refreshesBefore, 1, 'exactly one refresh');
  const shown = await app.call('GET', `/instances/${instance.id}`);
  assert.equal(shown.body.valid, true);
  const next: string = (await app.call('GET', `/instances/${instance.id}/credentials`)).body.accessToken;
  assert.notEqual(next, token);
});

test('an expired token is refreshed before forwarding, not after a 401', async () => {
  const instance = await connect('expired');
  await app.ctx.store.db.updateTable('connections').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('id', '=', instance.id).execute();
  const apiBefore = sandbox.admin.count('api');
  const tokenBefore = sandbox.admin.count('token', { clientId: CLIENT.id });
  const res = await app.call('GET', `/instances/${instance.id}/proxy/api/me`);
  assert.equal(res.status, 200, res.text);
  assert.equal(sandbox.admin.count('token', { clientId: CLIENT.id }) - tokenBefore, 1);
  assert.equal(sandbox.admin.count('api') - apiBefore, 1, 'one API call: the stale token was never sent');
});

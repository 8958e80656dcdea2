/**
 * `POST /instances/{id}/token`: the instance token is shown once (it is stored only as a hash), so rotation is the way
 * to get a new one. The new token works at once and the old one stops at once, through the resolver and through the
 * `Element` route; the event `instance.token_rotated` names who rotated it and never carries a token; another
 * organization, a key without `instances:write`, an unknown id and a malformed id are refused without a change.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { deployConnector } from './fixtures.ts';

let app: TestApp;

before(async () => {
  app = await startTestApp();
  await deployConnector(app, { key: 'keyed', name: 'Keyed', baseUrl: 'https://api.example.com', auth: { type: 'custom', label: 'API key', apply: { in: 'header', name: 'X-Api-Key' } } }, null);
});
after(async () => { await app.close(); });

async function create(name: string): Promise<{ id: string; token: string }> {
  const res = await app.call('POST', '/instances', { body: { element: { key: 'keyed' }, name, credentials: { apiKey: 'key-canary-1' } } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function resolves(token: string): Promise<string | null> {
  const resolver = app.ctx.hooks.resolveInstanceToken;
  assert.ok(resolver !== null);
  const found = await resolver(app.ctx, { orgId: app.admin.organizationId, userId: 'u', instanceToken: token });
  return found?.instanceId ?? null;
}

test('rotation returns a new token once; the new one works and the old one stops at once', async () => {
  const created = await create('rotating');
  assert.equal(await resolves(created.token), created.id);
  const rotated = await app.call('POST', `/instances/${created.id}/token`);
  assert.equal(rotated.status, 200, rotated.text);
  assert.equal(rotated.headers['cache-control'], 'no-store');
  assert.equal(rotated.body.id, created.id);
  assert.match(rotated.body.token, /^pbe_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(rotated.body.token, created.token);
  assert.ok(!Number.isNaN(Date.parse(rotated.body.rotatedAt)));
  assert.equal(await resolves(rotated.body.token), created.id);
  assert.equal(await resolves(created.token), null, 'the previous token no longer resolves');
  const old = await app.call('GET', '/proxy/anything', { authorization: `User ${app.admin.userSecret}, Element ${created.token}` });
  assert.equal(old.status, 401, old.text);
  assert.equal(old.body.code, 'UNAUTHENTICATED');
  const shown = await app.call('GET', `/instances/${created.id}`);
  assert.equal(shown.body.token, undefined, 'the token is not readable afterwards either');
  assert.ok(!shown.text.includes(rotated.body.token));

  const again = await app.call('POST', `/instances/${created.id}/token`);
  assert.equal(again.status, 200);
  assert.equal(await resolves(rotated.body.token), null, 'each rotation retires the one before');
  assert.equal(await resolves(again.body.token), created.id);
});

test('the event names who rotated, never the token; logs carry no token', async () => {
  const created = await create('audited');
  const rotated = await app.call('POST', `/instances/${created.id}/token`);
  assert.equal(rotated.status, 200);
  const events = await app.call('GET', `/events?instanceId=${created.id}&type=instance.token_rotated`);
  assert.equal(events.status, 200, events.text);
  assert.equal(events.body.events.length, 1);
  const [event] = events.body.events;
  assert.equal(event.data.caller.userId, app.admin.userId);
  assert.equal(event.data.caller.keyId, app.admin.apiKeyId);
  assert.equal(typeof event.data.caller.requestId, 'string');
  const text = JSON.stringify(events.body);
  for (const token of [created.token, rotated.body.token]) {
    assert.ok(!text.includes(token), 'no token in the event');
    assert.ok(!app.logs.join('\n').includes(token), 'no token in the logs');
  }
});

test('a disabled instance can have its token rotated (after a leak), and stays disabled', async () => {
  const created = await create('leaked');
  assert.equal((await app.call('DELETE', `/instances/${created.id}/enabled`)).status, 200);
  const rotated = await app.call('POST', `/instances/${created.id}/token`);
  assert.equal(rotated.status, 200, rotated.text);
  assert.equal((await app.call('GET', `/instances/${created.id}`)).body.status, 'disabled');
  assert.equal(await resolves(rotated.body.token), null, 'a disabled instance\'s token is refused like any other');
  assert.equal((await app.call('PUT', `/instances/${created.id}/enabled`)).status, 200);
  assert.equal(await resolves(rotated.body.token), created.id);
  assert.equal(await resolves(created.token), null);
});

test('refusals: another organization, no instances:write, unknown and malformed ids change nothing', async () => {
  const created = await create('guarded');
  const org = await app.call('POST', '/organizations', { body: { name: 'Other org' } });
  assert.equal(org.status, 201, org.text);
  const foreign = await app.call('POST', `/instances/${created.id}/token`, { apiKey: org.body.apiKey.secret });
  assert.equal(foreign.status, 404, foreign.text);
  assert.equal(foreign.body.token, undefined);

  const reader = await app.call('POST', '/api-keys', { body: { name: 'reader', permissions: ['instances:read'] } });
  assert.equal(reader.status, 201, reader.text);
  const forbidden = await app.call('POST', `/instances/${created.id}/token`, { apiKey: reader.body.secret });
  assert.equal(forbidden.status, 403, forbidden.text);

  const unknown = await app.call('POST', '/instances/no-such-instance/token');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'NOT_FOUND');
  const malformed = await app.call('POST', `/instances/${'x'.repeat(101)}/token`);
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.code, 'VALIDATION_FAILED');
  const anonymous = await app.call('POST', `/instances/${created.id}/token`, { apiKey: null });
  assert.equal(anonymous.status, 401);

  assert.equal(await resolves(created.token), created.id, 'no refused call rotated the token');
  const events = await app.call('GET', `/events?instanceId=${created.id}&type=instance.token_rotated`);
  assert.equal(events.body.events.length, 0);
});

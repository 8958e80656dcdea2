/**
 * A canary secret must never appear in logs, responses or plain columns. The canary travels every way a secret
 * reaches the server (Authorization header, cookie, query parameters of an OAuth-style callback, a JSON body field,
 * a provider message logged after the vault opened the secret), and a freshly issued API key is used for real calls;
 * then the collected log lines, every response and every stored column are searched for both.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/app.ts';
import { dumpDatabase } from '../support/tables.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(async () => {
  await app.close();
});

test('a canary secret never reaches logs, responses or plain columns', async () => {
  const canary = `canary-${randomBytes(16).toString('hex')}`;
  const responses: string[] = [];
  const record = async (p: ReturnType<TestApp['call']>) => {
    const r = await p;
    responses.push(r.text, JSON.stringify(r.headers));
    return r;
  };

  await record(app.call('GET', '/api-keys', { authorization: `Bearer ${canary}` }));
  await record(app.call('GET', '/api-keys', { authorization: `User ${canary}, Organization ${canary}` }));
  await record(app.call('GET', `/oauth/callback?code=${canary}&state=${canary}`, { apiKey: null }));
  await record(app.call('GET', `/no-such-route?token=${canary}`, { headers: { cookie: `session=${canary}` } }));
  await record(app.call('POST', '/api-keys', { body: { name: 'x', client_secret: canary } }));
  await record(app.call('POST', '/api-keys', { body: { name: canary.repeat(10) } }));
  await record(app.call('POST', '/organizations', { rawBody: `{"name": "${canary}` }));

  // A secret the vault sealed and opened is scrubbed even from free text (e.g. a provider's error message).
  const binding = { orgId: app.admin.organizationId, table: 'probe', rowId: 'r1', field: 'access_token' };
  const sealed = app.ctx.vault.seal(canary, binding);
  assert.equal(app.ctx.vault.open(sealed, binding), canary);
  app.ctx.log.warn({ providerMessage: `invalid token ${canary}`, nested: { access_token: canary } }, `provider rejected ${canary}`);
  app.ctx.log.error({ err: new Error(`upstream said ${canary}`) }, 'provider call failed');

  for (const text of responses) assert.ok(!text.includes(canary), `a response echoed the canary: ${text.slice(0, 200)}`);
  const logs = app.logs.join('');
  assert.ok(!logs.includes(canary), 'the canary reached the logs');
  assert.match(logs, /\[REDACTED\]/);
  assert.ok(!(await dumpDatabase(app.ctx.store)).includes(canary), 'the canary is stored in clear');
});

test('an issued API key appears only in its creation response, never in logs, listings or columns', async () => {
  const created = await app.call('POST', '/api-keys', { body: { name: 'canary-key' } });
  assert.equal(created.status, 201);
  const secret: string = created.body.secret;
  const texts: string[] = [];
  for (let i = 0; i < 3; i++) texts.push((await app.call('GET', '/api-keys', { apiKey: secret })).text);
  texts.push((await app.call('GET', '/organizations', { apiKey: secret })).text);
  texts.push((await app.call('DELETE', `/api-keys/${created.body.id}`, { apiKey: secret })).text);
  texts.push((await app.call('GET', '/api-keys', { apiKey: secret })).text);
  for (const text of texts) assert.ok(!text.includes(secret));
  assert.ok(!app.logs.join('').includes(secret));
  assert.ok(!app.logs.join('').includes(app.apiKey), 'the admin key is not logged either');
  const dump = await dumpDatabase(app.ctx.store);
  for (const value of [secret, app.apiKey, app.admin.userSecret, app.admin.organizationSecret]) assert.ok(!dump.includes(value));
});

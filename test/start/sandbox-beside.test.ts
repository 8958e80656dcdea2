/**
 * The newcomer path: `plugboard start` on an empty store with the sandbox beside it. The first start sets the OAuth
 * apps of the built-in sandbox connectors for the default organization (sealed), so + New Connection works at once,
 * and the built-in sandbox connectors point at the sandbox actually running (here an ephemeral port, not
 * 127.0.0.1:8081). Negative cases: a later start keeps the organization's own OAuth app, a start without the sandbox
 * sets nothing, other connectors and other origins are never rewritten, and the client secret is never logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp } from '../support/app.ts';
import { createTestDatabase } from '../support/database.ts';
import { startTestSandbox } from '../support/sandbox.ts';
import { authorize } from '../connections/fixtures.ts';
import {
  builtinCatalogue, isSandboxConnectorKey, loadCatalogue, moveSandboxDefinition, SANDBOX_DEFINITION_ORIGIN,
} from '../../src/connectors/registry.ts';
import { DEFAULT_CLIENT } from '../../src/sandbox/index.ts';

test('first start beside the sandbox: connect a sandbox account at once, against the running sandbox', async () => {
  const sandbox = await startTestSandbox();
  const app = await startTestApp({ sandboxUrl: sandbox.url });
  try {
    assert.notEqual(new URL(sandbox.url).origin, SANDBOX_DEFINITION_ORIGIN, 'the test sandbox runs on another port');
    const element = await app.call('GET', '/elements/sandbox');
    assert.equal(element.status, 200, element.text);
    assert.equal(element.body.oauthApp.clientId, DEFAULT_CLIENT.id);
    assert.equal(element.body.baseUrl, sandbox.url);
    assert.ok(!element.text.includes(SANDBOX_DEFINITION_ORIGIN), 'no URL of the definition still names 127.0.0.1:8081');
    assert.ok(!element.text.includes(DEFAULT_CLIENT.secret), 'the client secret is never returned');
    assert.deepEqual(app.admin.sandboxOAuthApps?.find((a) => a.connectorKey === 'sandbox'), { connectorKey: 'sandbox', clientId: DEFAULT_CLIENT.id });

    // Each sandbox-<style> connector is paired with the sandbox client of its revocation style.
    const json = await app.call('GET', '/elements/sandbox-json');
    assert.equal(json.body.oauthApp.clientId, 'sandbox-json');

    // + New Connection: authorization URL, the provider's consent, the hosted callback; then the token works.
    const url = await app.call('GET', '/elements/sandbox/oauth/url?name=First%20connection');
    assert.equal(url.status, 200, url.text);
    assert.ok(url.body.oauthUrl.startsWith(`${sandbox.url}/oauth/authorize?`), url.body.oauthUrl);
    const params = await authorize(url.body.oauthUrl);
    const callback = await app.call('GET', `/oauth/callback?${params}`, { apiKey: null });
    assert.equal(callback.status, 200, callback.text);
    const instances = await app.call('GET', '/instances');
    assert.equal(instances.body.instances.length, 1);
    assert.equal(instances.body.instances[0].status, 'active');
    const creds = await app.call('GET', `/instances/${instances.body.instances[0].id}/credentials`);
    assert.equal(sandbox.admin.tokenState(creds.body.accessToken).state, 'active');
    assert.equal(sandbox.admin.count('token', { clientId: DEFAULT_CLIENT.id }), 1, 'the code was exchanged with the default client');

    // Sealed at rest: the plain column holds an envelope, not the secret.
    const rows = await app.ctx.store.db.selectFrom('connector_oauth_apps').select(['connector_key', 'client_secret']).execute();
    assert.ok(rows.length >= 2);
    for (const row of rows) assert.ok(!row.client_secret.includes('-secret'), `${row.connector_key}: client secret stored sealed`);
    const logs = app.logs.join('\n');
    assert.match(logs, /set the OAuth apps of the \d+ built-in sandbox connectors/);
    assert.ok(!logs.includes(DEFAULT_CLIENT.secret) && !logs.includes('sandbox-json-secret'), 'client secrets are never logged');
  } finally {
    await app.close();
    await sandbox.close();
  }
});

test('a later start keeps the OAuth app the organization set; a first start without the sandbox sets none', async () => {
  const sandbox = await startTestSandbox();
  const database = await createTestDatabase('sqlite');
  try {
    const first = await startTestApp({ database, sandboxUrl: sandbox.url });
    const own = await first.call('PUT', '/elements/sandbox/oauth-app', { body: { clientId: 'my-own-client', clientSecret: 'my-own-secret' } });
    assert.ok(own.status >= 200 && own.status < 300, own.text);
    await first.close();
    const second = await startTestApp({ database, sandboxUrl: sandbox.url });
    try {
      assert.equal(second.running.bootstrap, null, 'not a first start');
      const element = await second.call('GET', '/elements/sandbox', { apiKey: first.apiKey });
      assert.equal(element.body.oauthApp.clientId, 'my-own-client', 'a restart never overwrites the organization\'s choice');
    } finally {
      await second.close();
    }
  } finally {
    await database.drop();
    await sandbox.close();
  }
  const without = await startTestApp();
  try {
    assert.equal(without.admin.sandboxOAuthApps, undefined);
    const element = await without.call('GET', '/elements/sandbox');
    assert.equal(element.body.oauthApp, null, 'without the sandbox nothing is configured');
    assert.equal(await without.ctx.store.db.selectFrom('connector_oauth_apps').select('id').executeTakeFirst(), undefined);
  } finally {
    await without.close();
  }
});

test('the rewrite moves exactly the sandbox origin, only in the built-in sandbox connectors', async () => {
  const moved = await loadCatalogue({ sandboxOrigin: 'http://10.1.2.3:9001/ignored/path' });
  const written = await loadCatalogue();
  for (const entry of moved.entries) {
    const original = written.get(entry.key);
    assert.ok(original !== undefined);
    const text = JSON.stringify(entry.definition);
    if (isSandboxConnectorKey(entry.key)) {
      assert.ok(!text.includes(SANDBOX_DEFINITION_ORIGIN), `${entry.key} still names the default origin`);
      assert.ok(text.includes('http://10.1.2.3:9001/oauth/token'), `${entry.key} points at the new origin`);
      assert.equal(text, JSON.stringify(original.definition).replaceAll(SANDBOX_DEFINITION_ORIGIN, 'http://10.1.2.3:9001'));
    } else {
      assert.equal(text, JSON.stringify(original.definition), `${entry.key} is not a sandbox connector and is left as written`);
    }
  }
  assert.ok(moved.entries.filter((e) => isSandboxConnectorKey(e.key)).length >= 2);

  const sample = structuredClone(written.get('sandbox')!.definition);
  sample.description = 'see http://127.0.0.1:80810/x, https://127.0.0.1:8081/y, http://127.0.0.1:8082/z and http://127.0.0.1:8081';
  const out = moveSandboxDefinition(sample, 'http://sandbox.internal:7000');
  assert.equal(out.description, 'see http://127.0.0.1:80810/x, https://127.0.0.1:8081/y, http://127.0.0.1:8082/z and http://sandbox.internal:7000');
  assert.notEqual(out, sample, 'a copy: the loaded definition is never changed in place');
  assert.ok(sample.description.endsWith('http://127.0.0.1:8081'));

  assert.ok(isSandboxConnectorKey('sandbox') && isSandboxConnectorKey('sandbox-json'));
  assert.ok(!isSandboxConnectorKey('sandboxed') && !isSandboxConnectorKey('github') && !isSandboxConnectorKey('my-sandbox'));
  // The process catalogue of this test file was moved by the first test only for the sandbox connectors.
  assert.equal((await builtinCatalogue()).get('github')?.definition.baseUrl, written.get('github')?.definition.baseUrl);
});

/**
 * The test harness itself: every backend starts a full app with an admin key that works, two apps never share a
 * store, and the sandbox helper answers on its own port.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { BACKENDS } from './database.ts';
import { startTestApp } from './app.ts';
import { startTestAppWithSandbox } from './sandbox.ts';

for (const backend of BACKENDS) {
  describe(`harness on ${backend}`, () => {
    test('two apps start on separate stores with working admin keys', async () => {
      const [a, b] = await Promise.all([startTestApp({ backend }), startTestApp({ backend })]);
      try {
        assert.equal(a.backend, backend);
        assert.notEqual(a.url, b.url);
        assert.notEqual(a.admin.organizationId, b.admin.organizationId);
        assert.equal((await a.call('GET', '/api-keys')).status, 200);
        assert.equal((await a.call('GET', '/api-keys', { apiKey: b.apiKey })).status, 401, "one app's key is unknown to the other");
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}

test('the sandbox helper starts the provider beside the app', async () => {
  const both = await startTestAppWithSandbox();
  try {
    assert.notEqual(both.sandbox.url, both.app.url);
    const res = await request(`${both.sandbox.url}/.well-known/oauth-authorization-server`);
    assert.equal(res.statusCode, 200);
    const metadata = (await res.body.json()) as { issuer: string };
    assert.equal(metadata.issuer, both.sandbox.issuer);
  } finally {
    await both.close();
  }
});

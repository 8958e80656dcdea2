/**
 * `apiSecret` on `GET /elements/{key}/oauth/url` travels in a query string (Open Connectors compatibility). Plugboard's
 * request log must not keep it: the query parameter is redacted by name, whatever the request's outcome, and the
 * secret value appears in no log line. docs/connections.md recommends `PUT /elements/{key}/oauth-app` instead.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { redactQuery } from '../../src/log.ts';

let app: TestApp;
before(async () => { app = await startTestApp(); });
after(async () => { await app.close(); });

test('redactQuery hides apiSecret (any case) and keeps other parameters readable', () => {
  for (const name of ['apiSecret', 'apisecret', 'APISECRET', 'api_secret', 'client_secret']) {
    const out = redactQuery(`/elements/x/oauth/url?apiKey=client-1&${name}=s3cret-canary&scope=read`);
    assert.ok(!out.includes('s3cret-canary'), `${name}: ${out}`);
    assert.match(out, /scope=read/);
  }
  assert.equal(redactQuery('/elements/x/oauth/url?scope=read'), '/elements/x/oauth/url?scope=read');
});

test('the request log never holds the apiSecret of an OAuth URL request, answered or refused', async () => {
  const canary = 'oauth-app-secret-canary-0123456789';
  for (const path of [
    `/elements/no-such-connector/oauth/url?apiKey=client-1&apiSecret=${canary}`,
    `/elements/no-such-connector/oauth/url?apiSecret=${canary}`,
    `/elements/no-such-connector/oauth/url?apiKey=client-1&apiSecret=${canary}&unknown=1`,
  ]) {
    const res = await app.call('GET', path);
    assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
    assert.ok(!res.text.includes(canary), 'not echoed in the error');
  }
  const lines = app.logs.filter((line) => line.includes('/oauth/url'));
  assert.ok(lines.length > 0, 'the requests were logged');
  assert.ok(!app.logs.join('\n').includes(canary), 'no log line holds the secret');
});

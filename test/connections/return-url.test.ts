/**
 * The hosted callback's return URL allow-list: the server's own origin plus PLUGBOARD_OAUTH_RETURN_ORIGINS, compared
 * as parsed origins so look-alike hosts, user-info tricks and other schemes cannot pass; a bad setting stops start-up
 * with a message naming the variable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { assertReturnUrlAllowed } from '../../src/auth/callback.ts';
import { PlugboardError } from '../../src/core/errors.ts';

const config = loadConfig({ PLUGBOARD_PUBLIC_URL: 'https://plugboard.example.com', PLUGBOARD_OAUTH_RETURN_ORIGINS: 'https://app.example.com/ignored/path, http://127.0.0.1:3000' });

test('the setting is parsed into origins', () => {
  assert.deepEqual(config.oauthReturnOrigins, ['https://app.example.com', 'http://127.0.0.1:3000']);
  assert.deepEqual(loadConfig({}).oauthReturnOrigins, []);
});

test('a bad origin in the setting stops start-up and names the variable', () => {
  assert.throws(() => loadConfig({ PLUGBOARD_OAUTH_RETURN_ORIGINS: 'app.example.com' }), (e: unknown) => e instanceof PlugboardError && e.details?.[0].path === 'env.PLUGBOARD_OAUTH_RETURN_ORIGINS');
  assert.throws(() => loadConfig({ PLUGBOARD_OAUTH_RETURN_ORIGINS: 'javascript:alert(1)' }), PlugboardError);
});

test('allowed: the public URL origin and the listed origins, any path', () => {
  for (const url of ['https://plugboard.example.com/done', 'https://app.example.com/oauth/finished?x=1', 'http://127.0.0.1:3000/']) {
    assert.equal(assertReturnUrlAllowed(config, url), new URL(url).href);
  }
});

test('refused: look-alikes, user-info, other ports and schemes, relative and garbage URLs', () => {
  for (const url of [
    'https://app.example.com.evil.test/', 'https://evil.test/?https://app.example.com', 'https://app.example.com@evil.test/',
    'http://app.example.com/', 'https://app.example.com:8443/', 'http://127.0.0.1:3001/', 'javascript:alert(1)', '/relative', 'not a url',
  ]) {
    assert.throws(() => assertReturnUrlAllowed(config, url), (e: unknown) => e instanceof PlugboardError && e.code === 'VALIDATION_FAILED' && e.details?.[0].path === 'query.returnUrl', url);
  }
});

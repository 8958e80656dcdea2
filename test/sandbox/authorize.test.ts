/**
 * The sandbox authorization endpoint: consent page approve/deny, the auto-approve switches, PKCE and state, RFC 9207
 * `iss`, and the error cases that must be shown (bad client, bad redirect URI) versus redirected (everything else).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { authorizeRedirect, authorizeUrl, call, pkce, postForm, REDIRECT } from './oauth-client.ts';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(() => sb.close());

function consentForm(html: string): { requestId: string } {
  const m = /name="request_id" value="([^"]+)"/.exec(html);
  assert.ok(m, 'the consent page carries a request_id');
  return { requestId: m[1] };
}

describe('consent page', () => {
  it('shows the client, the scopes and the users, then approve redirects with code, state and iss', async () => {
    const { challenge } = pkce();
    const page = await call(authorizeUrl(sb, { client_id: 'plugboard-demo', state: 'st-1', scope: 'profile', code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.text, /Plugboard demo/);
    assert.match(page.text, /<code>profile<\/code>/);
    assert.match(page.text, /value="user-bob"/);
    const { requestId } = consentForm(page.text);
    const res = await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: requestId, user: 'user-bob', decision: 'approve' });
    assert.equal(res.status, 302);
    const loc = new URL(String(res.headers.location));
    assert.equal(loc.origin + loc.pathname, REDIRECT);
    assert.match(loc.searchParams.get('code') ?? '', /^sbx_code_/);
    assert.equal(loc.searchParams.get('state'), 'st-1');
    assert.equal(loc.searchParams.get('iss'), sb.issuer);
  });

  it('deny redirects with access_denied and the state', async () => {
    const page = await call(authorizeUrl(sb, { client_id: 'plugboard-demo', state: 'st-2' }));
    const { requestId } = consentForm(page.text);
    const res = await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: requestId, user: 'user-alice', decision: 'deny' });
    const q = new URL(String(res.headers.location)).searchParams;
    assert.equal(q.get('error'), 'access_denied');
    assert.equal(q.get('state'), 'st-2');
    assert.equal(q.get('code'), null);
  });

  it('a decision can be posted only once', async () => {
    const page = await call(authorizeUrl(sb, { client_id: 'plugboard-demo' }));
    const { requestId } = consentForm(page.text);
    const first = await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: requestId, user: 'user-alice', decision: 'approve' });
    assert.equal(first.status, 302);
    const again = await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: requestId, user: 'user-alice', decision: 'approve' });
    assert.equal(again.status, 400);
    assert.match(again.text, /unknown, expired or already answered/);
  });

  it('refuses an unknown request id, a bad decision, an unknown user and a non-form body', async () => {
    assert.equal((await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: 'nope', decision: 'approve', user: 'alice' })).status, 400);
    const page = await call(authorizeUrl(sb, { client_id: 'plugboard-demo' }));
    const { requestId } = consentForm(page.text);
    assert.equal((await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: requestId, decision: 'maybe', user: 'alice' })).status, 400);
    const page2 = await call(authorizeUrl(sb, { client_id: 'plugboard-demo' }));
    const r2 = await postForm(`${sb.url}/oauth/authorize/decision`, { request_id: consentForm(page2.text).requestId, decision: 'approve', user: 'mallory' });
    assert.equal(r2.status, 400);
    const r3 = await call(`${sb.url}/oauth/authorize/decision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r3.status, 415);
  });

  it('escapes client-controlled text in the page', async () => {
    sb.admin.createClient({ id: 'xss-client', name: '<script>alert(1)</script>' });
    const page = await call(authorizeUrl(sb, { client_id: 'xss-client' }));
    assert.doesNotMatch(page.text, /<script>/);
    assert.match(page.text, /&lt;script&gt;/);
  });
});

describe('auto-approve switches', () => {
  it('sandbox_auto=approve signs in as login_hint', async () => {
    const q = await authorizeRedirect(sb, { client_id: 'plugboard-demo', sandbox_auto: 'approve', login_hint: 'carol', state: 'x' });
    assert.ok(q.get('code'));
    const code = sb.admin.tokenState(q.get('code') ?? '');
    assert.equal(code.state, 'unknown', 'codes are not tokens');
  });

  it('sandbox_auto=deny answers access_denied; any other value is invalid_request', async () => {
    assert.equal((await authorizeRedirect(sb, { client_id: 'plugboard-demo', sandbox_auto: 'deny' })).get('error'), 'access_denied');
    assert.equal((await authorizeRedirect(sb, { client_id: 'plugboard-demo', sandbox_auto: 'yes' })).get('error'), 'invalid_request');
  });

  it('the sandbox-wide switch and the client switch skip the page', async () => {
    const auto = await startSandbox({ autoApprove: true });
    try {
      assert.ok((await authorizeRedirect(auto, { client_id: 'plugboard-demo' })).get('code'));
    } finally {
      await auto.close();
    }
    sb.admin.createClient({ id: 'auto-client', autoApprove: true });
    assert.ok((await authorizeRedirect(sb, { client_id: 'auto-client' })).get('code'));
    sb.admin.updateSettings({ autoApprove: true });
    try {
      assert.ok((await authorizeRedirect(sb, { client_id: 'plugboard-demo' })).get('code'));
    } finally {
      sb.admin.updateSettings({ autoApprove: false });
    }
  });

  it('prompt=none succeeds only after an earlier approval', async () => {
    const first = await authorizeRedirect(sb, { client_id: 'sandbox-json', prompt: 'none', login_hint: 'bob' });
    assert.equal(first.get('error'), 'consent_required');
    sb.admin.issueTokens({ clientId: 'sandbox-json', userId: 'bob' });
    const second = await authorizeRedirect(sb, { client_id: 'sandbox-json', prompt: 'none', login_hint: 'bob' });
    assert.ok(second.get('code'));
  });
});

describe('errors shown, never redirected', () => {
  it('missing or unknown client_id', async () => {
    const r1 = await call(`${sb.url}/oauth/authorize?response_type=code`);
    assert.equal(r1.status, 400);
    assert.equal(r1.headers.location, undefined);
    const r2 = await call(authorizeUrl(sb, { client_id: 'who' }));
    assert.equal(r2.status, 400);
    assert.match(r2.text, /No client is registered/);
  });

  it('an unregistered redirect URI, including non-loopback hosts and https look-alikes', async () => {
    for (const uri of ['https://evil.example/cb', 'http://127.0.0.1.evil.example/cb', 'http://10.0.0.1/cb', 'not a uri', 'http://127.0.0.1:1/cb#frag']) {
      const r = await call(authorizeUrl(sb, { client_id: 'plugboard-demo', redirect_uri: uri }));
      assert.equal(r.status, 400, uri);
      assert.equal(r.headers.location, undefined, uri);
    }
  });

  it('a client without loopback allowance accepts only its exact URIs', async () => {
    sb.admin.createClient({ id: 'strict-client', allowLoopbackRedirects: false, redirectUris: ['https://app.example/cb'] });
    assert.equal((await call(authorizeUrl(sb, { client_id: 'strict-client' }))).status, 400);
    const ok = await call(`${sb.url}/oauth/authorize?response_type=code&client_id=strict-client&sandbox_auto=approve`);
    assert.equal(ok.status, 302, 'the only registered URI is used when redirect_uri is omitted');
    assert.match(String(ok.headers.location), /^https:\/\/app\.example\/cb\?code=/);
  });

  it('a repeated client_id', async () => {
    const r = await call(`${sb.url}/oauth/authorize?response_type=code&client_id=plugboard-demo&client_id=plugboard-demo&redirect_uri=${encodeURIComponent(REDIRECT)}`);
    assert.equal(r.status, 400);
  });
});

describe('errors redirected with state and iss', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['missing response_type', { response_type: '' }, 'invalid_request'],
    ['token response type', { response_type: 'token' }, 'unsupported_response_type'],
    ['unknown scope', { scope: 'admin' }, 'invalid_scope'],
    ['plain PKCE', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
    ['PKCE method without challenge', { code_challenge_method: 'S256' }, 'invalid_request'],
    ['short challenge', { code_challenge: 'abc', code_challenge_method: 'S256' }, 'invalid_request'],
    ['unknown login_hint', { login_hint: 'mallory', sandbox_auto: 'approve' }, 'invalid_request'],
  ];
  for (const [name, params, error] of cases) {
    it(name, async () => {
      const url = new URL(authorizeUrl(sb, { client_id: 'plugboard-demo', state: 'keep-me', ...params }));
      if (params.response_type === '') url.searchParams.delete('response_type');
      const r = await call(url.toString());
      assert.equal(r.status, 302);
      const q = new URL(String(r.headers.location)).searchParams;
      assert.equal(q.get('error'), error);
      assert.equal(q.get('state'), 'keep-me');
      assert.equal(q.get('iss'), sb.issuer);
      assert.ok(q.get('error_description'));
    });
  }

  it('a public client must use PKCE', async () => {
    const q = await authorizeRedirect(sb, { client_id: 'plugboard-public', sandbox_auto: 'approve' });
    assert.equal(q.get('error'), 'invalid_request');
    assert.match(q.get('error_description') ?? '', /PKCE/);
  });

  it('a repeated scope parameter', async () => {
    const r = await call(authorizeUrl(sb, { client_id: 'plugboard-demo' }) + '&scope=profile&scope=files.read');
    assert.equal(new URL(String(r.headers.location)).searchParams.get('error'), 'invalid_request');
  });
});

/**
 * The sandbox's resource side and its robustness: RFC 8414 metadata, RFC 7662 introspection, the protected API and
 * its RFC 6750 errors, and malformed traffic (huge bodies, broken encodings, odd methods, raw garbage on the socket)
 * that must get a clear error and never take the server down.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CLIENT, REVOKE_STYLE_NAMES, startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { basic, bearer, call, postForm, sendJson } from './oauth-client.ts';

let sb: Sandbox;
const DEMO = basic(DEFAULT_CLIENT.id, DEFAULT_CLIENT.secret);
before(async () => {
  sb = await startSandbox();
});
after(() => sb.close());

describe('metadata (RFC 8414)', () => {
  it('publishes the endpoints, the iss support flag and every revoke style path', async () => {
    const res = await call(`${sb.url}/.well-known/oauth-authorization-server`);
    const m = res.json();
    assert.equal(m.issuer, sb.issuer);
    assert.equal(m.token_endpoint, `${sb.url}/oauth/token`);
    assert.equal(m.revocation_endpoint, `${sb.url}/oauth/revoke`);
    assert.equal(m.introspection_endpoint, `${sb.url}/oauth/introspect`);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(Object.keys(m.sandbox_revocation_endpoints).sort(), [...REVOKE_STYLE_NAMES].sort());
    assert.equal(m.sandbox_revocation_endpoints.none, null);
  });

  it('honours a configured issuer', async () => {
    const s = await startSandbox({ issuer: 'https://sandbox.example' });
    try {
      assert.equal((await call(`${s.url}/.well-known/oauth-authorization-server`)).json().issuer, 'https://sandbox.example');
    } finally {
      await s.close();
    }
  });

  it('the index page lists the revoke styles', async () => {
    const res = await call(`${sb.url}/`);
    assert.equal(res.status, 200);
    for (const style of REVOKE_STYLE_NAMES) assert.ok(res.text.includes(`<code>${style}</code>`), style);
  });
});

describe('introspection (RFC 7662)', () => {
  it('describes a live token to its own client', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'bob', scope: 'profile' });
    const res = await postForm(`${sb.url}/oauth/introspect`, { token: t.access_token }, { authorization: DEMO });
    const body = res.json();
    assert.equal(body.active, true);
    assert.equal(body.username, 'bob');
    assert.equal(body.client_id, 'plugboard-demo');
    assert.equal(body.scope, 'profile');
    assert.equal(body.iss, sb.issuer);
    assert.ok(body.exp > body.iat);
    const rt = await postForm(`${sb.url}/oauth/introspect`, { token: t.refresh_token ?? '', client_id: 'plugboard-demo', client_secret: 'plugboard-demo-secret' });
    assert.equal(rt.json().token_type, 'refresh_token');
  });

  it('answers only {active:false} for revoked, expired, unknown and foreign tokens', async () => {
    const revoked = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    sb.admin.revokeToken(revoked.access_token, 'token');
    const foreign = sb.admin.issueTokens({ clientId: 'plugboard-rotating' });
    for (const token of [revoked.access_token, 'sbx_at_unknown', foreign.access_token]) {
      const res = await postForm(`${sb.url}/oauth/introspect`, { token }, { authorization: DEMO });
      assert.deepEqual(res.json(), { active: false });
    }
    const s = await startSandbox({ accessTokenTtl: 5 });
    try {
      const t = s.admin.issueTokens({ clientId: 'plugboard-demo' });
      s.admin.advanceTime(6);
      assert.deepEqual((await postForm(`${s.url}/oauth/introspect`, { token: t.access_token }, { authorization: DEMO })).json(), { active: false });
    } finally {
      await s.close();
    }
  });

  it('requires client authentication and a token', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    assert.equal((await postForm(`${sb.url}/oauth/introspect`, { token: t.access_token })).status, 401);
    assert.equal((await postForm(`${sb.url}/oauth/introspect`, { token: t.access_token, client_id: 'plugboard-public' })).status, 401);
    assert.equal((await postForm(`${sb.url}/oauth/introspect`, {}, { authorization: DEMO })).json().error, 'invalid_request');
  });
});

describe('protected API (RFC 6750)', () => {
  it('serves /api/me, /api/files, /api/files/{id}, POST /api/files and /api/ping for a live token', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'alice' });
    const h = bearer(t.access_token);
    assert.equal((await call(`${sb.url}/api/me`, { headers: h })).json().email, 'alice@sandbox.test');
    const files = (await call(`${sb.url}/api/files`, { headers: h })).json().files;
    assert.equal(files.length, 2);
    assert.equal((await call(`${sb.url}/api/files/${files[0].id}`, { headers: h })).json().name, files[0].name);
    const created = await sendJson(`${sb.url}/api/files`, 'POST', { name: 'new.txt', content: 'hello' }, h);
    assert.equal(created.status, 201);
    assert.equal(created.json().size, 5);
    assert.equal((await call(`${sb.url}/api/files`, { headers: h })).json().files.length, 3);
    assert.deepEqual((await call(`${sb.url}/api/ping`, { headers: h })).json(), { ok: true });
    const head = await call(`${sb.url}/api/me`, { method: 'HEAD', headers: h });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    const bob = sb.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'bob' });
    assert.equal((await call(`${sb.url}/api/files`, { headers: bearer(bob.access_token) })).json().files.length, 2, "bob does not see alice's files");
  });

  it('401 without a token carries a challenge but no error code', async () => {
    const res = await call(`${sb.url}/api/me`);
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="sandbox"');
  });

  it('401 invalid_token for revoked, unknown and refresh tokens', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    sb.admin.revokeToken(t.access_token, 'token');
    for (const token of [t.access_token, 'sbx_at_unknown', t.refresh_token ?? '']) {
      const res = await call(`${sb.url}/api/me`, { headers: bearer(token) });
      assert.equal(res.status, 401);
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm="sandbox", error="invalid_token"/);
      assert.equal(res.json().error, 'invalid_token');
    }
  });

  it('403 insufficient_scope, 404 for unknown files and paths, 405 and 400 for bad writes', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo', scope: 'profile' });
    const h = bearer(t.access_token);
    const files = await call(`${sb.url}/api/files`, { headers: h });
    assert.equal(files.status, 403);
    assert.match(String(files.headers['www-authenticate']), /error="insufficient_scope"/);
    const full = bearer(sb.admin.issueTokens({ clientId: 'plugboard-demo' }).access_token);
    assert.equal((await call(`${sb.url}/api/files/nope`, { headers: full })).status, 404);
    assert.equal((await call(`${sb.url}/api/files/%E0%A4%A`, { headers: full })).status, 400);
    assert.equal((await call(`${sb.url}/api/nothing`, { headers: full })).status, 404);
    assert.equal((await call(`${sb.url}/api/files`, { method: 'DELETE', headers: full })).status, 405);
    assert.equal((await sendJson(`${sb.url}/api/files`, 'POST', { name: '' }, full)).status, 400);
    assert.equal((await call(`${sb.url}/api/files`, { method: 'POST', headers: { ...full, 'content-type': 'application/json' }, body: '[1,2]' })).status, 400);
  });
});

describe('malformed traffic never takes the sandbox down', () => {
  it('a body over 64 KiB is 413', async () => {
    const res = await call(`${sb.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a='.padEnd(70_000, 'x') });
    assert.equal(res.status, 413);
  });

  it('unknown paths are 404 and wrong methods 405', async () => {
    assert.equal((await call(`${sb.url}/nope`)).status, 404);
    assert.equal((await call(`${sb.url}/oauth/revoke`)).status, 405);
    assert.equal((await call(`${sb.url}/.well-known/oauth-authorization-server`, { method: 'DELETE' })).status, 405);
  });

  it('broken percent-encoding, bad Basic and odd content types get RFC errors', async () => {
    const broken = await call(`${sb.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: DEMO }, body: 'grant_type=%E0%A4%A&code=%' });
    assert.equal(broken.status, 400);
    const badBasic = await postForm(`${sb.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: 'Basic ' + Buffer.from('no-colon').toString('base64') });
    assert.equal(badBasic.json().error, 'invalid_client');
    const pctBasic = await postForm(`${sb.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: 'Basic ' + Buffer.from('%E0%A4%A:x').toString('base64') });
    assert.equal(pctBasic.json().error, 'invalid_client');
    const xml = await call(`${sb.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'text/xml', authorization: DEMO }, body: '<token/>' });
    assert.equal(xml.json().error, 'invalid_request');
  });

  it('raw garbage on the socket gets a 400 and the server keeps serving', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = tcpConnect(sb.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.equal((await call(`${sb.url}/.well-known/oauth-authorization-server`)).status, 200);
  });

  it('a fuzzed token endpoint answers JSON errors only', async () => {
    const bodies = ['', '=', '&&&', 'grant_type=', 'grant_type=authorization_code&code=', 'grant_type=refresh_token&refresh_token=%00', 'grant_type=client_credentials&scope=%20%20', `grant_type=${'x'.repeat(5000)}`];
    for (const body of bodies) {
      const res = await call(`${sb.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: DEMO }, body });
      assert.ok(res.status >= 200 && res.status < 500, `${body.slice(0, 30)} -> ${res.status}`);
      assert.equal(typeof res.json().error === 'string' || typeof res.json().access_token === 'string', true);
    }
  });
});

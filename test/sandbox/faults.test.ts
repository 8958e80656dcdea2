/**
 * Sandbox faults and counters: each fault kind (status, 429 with Retry-After, latency, reset, hang), every-Nth and
 * limited-times faults, counters per endpoint, client and outcome, and the same operations over the admin HTTP API,
 * including its token guard and the non-loopback warning.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { isLoopbackHost, SandboxInputError, startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { basic, bearer, call, postForm, sendJson } from './oauth-client.ts';

let sb: Sandbox;
const DEMO = basic('plugboard-demo', 'plugboard-demo-secret');
before(async () => {
  sb = await startSandbox();
});
after(() => sb.close());
afterEach(() => {
  sb.admin.clearFault();
  sb.admin.resetCounters();
});

function refresh(token: string): Promise<{ status: number; headers: Record<string, unknown>; json: () => any; text: string }> {
  return postForm(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: token }, { authorization: DEMO });
}

describe('fault kinds', () => {
  for (const status of [500, 502, 503]) {
    it(`status ${status}`, async () => {
      sb.admin.setFault('token', { kind: 'status', status });
      const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
      const res = await refresh(t.refresh_token ?? '');
      assert.equal(res.status, status);
      assert.equal(res.json().error, 'temporarily_unavailable');
    });
  }

  it('429 with Retry-After', async () => {
    sb.admin.setFault('revoke', { kind: 'rate_limit', retryAfter: 7 });
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const res = await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: DEMO });
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal(sb.admin.tokenState(t.access_token).state, 'active', 'a faulted revocation revokes nothing');
  });

  it('latency delays a normal answer', async () => {
    sb.admin.setFault('api', { kind: 'latency', latencyMs: 150 });
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const started = performance.now();
    const res = await call(`${sb.url}/api/ping`, { headers: bearer(t.access_token) });
    assert.equal(res.status, 200);
    assert.ok(performance.now() - started >= 140, 'the answer came after the added latency');
  });

  it('latency before a status fault', async () => {
    sb.admin.setFault('api', { kind: 'status', status: 502, latencyMs: 100 });
    const started = performance.now();
    const res = await call(`${sb.url}/api/ping`);
    assert.equal(res.status, 502);
    assert.ok(performance.now() - started >= 90);
  });

  it('reset drops the connection without an answer', async () => {
    sb.admin.setFault('introspect', { kind: 'reset' });
    await assert.rejects(postForm(`${sb.url}/oauth/introspect`, { token: 'x' }, { authorization: DEMO }), (err: Error & { code?: string }) => {
      assert.match(`${err.code} ${err.message}`, /ECONNRESET|UND_ERR_SOCKET|other side closed|socket/i);
      return true;
    });
    assert.equal(sb.admin.count('introspect', { outcome: 'reset' }), 1);
  });

  it('hang holds the request until the client gives up', async () => {
    sb.admin.setFault('revoke', { kind: 'hang' });
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const started = performance.now();
    await assert.rejects(
      call(`${sb.url}/oauth/revoke`, { method: 'POST', headers: { authorization: DEMO, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${t.access_token}`, timeoutMs: 200 }),
      (err: Error & { code?: string }) => err.code === 'UND_ERR_HEADERS_TIMEOUT',
    );
    assert.ok(performance.now() - started >= 190);
    assert.equal(sb.admin.count('revoke', { clientId: 'plugboard-demo', outcome: 'hang' }), 1);
    assert.equal(sb.admin.tokenState(t.access_token).state, 'active');
  });

  it('close() ends a sandbox with a hung request promptly', async () => {
    const s = await startSandbox();
    s.admin.setFault('metadata', { kind: 'hang' });
    const pending = call(`${s.url}/.well-known/oauth-authorization-server`, { timeoutMs: 10_000 }).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await s.close();
    assert.ok(performance.now() - started < 1000);
    assert.ok((await pending) instanceof Error);
  });
});

describe('fault schedules', () => {
  it('everyNth fails calls N, 2N, ... and serves the others', async () => {
    sb.admin.setFault('api', { kind: 'status', status: 500, everyNth: 3 });
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(`${sb.url}/api/ping`, { headers: bearer(t.access_token) })).status);
    assert.deepEqual(statuses, [200, 200, 500, 200, 200, 500, 200]);
    const [f] = sb.admin.faults();
    assert.equal(f.calls, 7);
    assert.equal(f.applied, 2);
  });

  it('times limits the hits, then the fault removes itself', async () => {
    sb.admin.setFault('token', { kind: 'status', status: 503, times: 2 });
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await refresh(t.refresh_token ?? '')).status);
    assert.deepEqual(statuses, [503, 503, 200]);
    assert.deepEqual(sb.admin.faults(), []);
  });

  it('a client-scoped fault hits only that client and counts only its calls', async () => {
    sb.admin.setFault('token', { kind: 'status', status: 503, clientId: 'plugboard-rotating', everyNth: 2 });
    const demo = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const rot = sb.admin.issueTokens({ clientId: 'plugboard-rotating' });
    const rotAuth = basic('plugboard-rotating', 'plugboard-rotating-secret');
    assert.equal((await refresh(demo.refresh_token ?? '')).status, 200);
    const r1 = await postForm(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: rot.refresh_token ?? '' }, { authorization: rotAuth });
    assert.equal(r1.status, 200, 'first call of the client: not the 2nd');
    assert.equal((await refresh(demo.refresh_token ?? '')).status, 200, 'other clients never meet the fault');
    const r2 = await postForm(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: r1.json().refresh_token }, { authorization: rotAuth });
    assert.equal(r2.status, 503);
    assert.equal(sb.admin.faults()[0].calls, 2);
    assert.throws(() => sb.admin.setFault('token', { kind: 'reset', clientId: '' }), (err: unknown) => err instanceof SandboxInputError && err.path === 'clientId');
  });

  it('a fault on one endpoint leaves the others alone; clearFault(endpoint) clears one', async () => {
    sb.admin.setFault('revoke', { kind: 'status', status: 500 });
    sb.admin.setFault('introspect', { kind: 'status', status: 502 });
    assert.equal((await call(`${sb.url}/.well-known/oauth-authorization-server`)).status, 200);
    sb.admin.clearFault('revoke');
    assert.deepEqual(sb.admin.faults().map((f) => f.endpoint), ['introspect']);
  });

  it('invalid fault specs are refused with the field named', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ kind: 'explode' }, /^kind/],
      [{ kind: 'status', status: 200 }, /^status/],
      [{ kind: 'latency' }, /^latencyMs/],
      [{ kind: 'rate_limit', retryAfter: -1 }, /^retryAfter/],
      [{ kind: 'reset', everyNth: 0 }, /^everyNth/],
      [{ kind: 'hang', times: 1.5 }, /^times/],
      [{ kind: 'reset', status: 500 }, /^status/],
      [{ kind: 'reset', colour: 'red' }, /^colour/],
      ['503', /^fault/],
    ];
    const names = (field: RegExp) => (err: unknown) => err instanceof SandboxInputError && field.test(err.path);
    for (const [spec, field] of bad) assert.throws(() => sb.admin.setFault('token', spec as never), names(field));
    assert.throws(() => sb.admin.setFault('nowhere' as never, { kind: 'reset' }), names(/^endpoint/));
  });
});

describe('counters', () => {
  it('count calls per endpoint, per client and per outcome, faulted calls included', async () => {
    const t = sb.admin.issueTokens({ clientId: 'plugboard-demo' });
    const r = sb.admin.issueTokens({ clientId: 'plugboard-rotating' });
    await refresh(t.refresh_token ?? '');
    sb.admin.setFault('token', { kind: 'status', status: 503, times: 1 });
    await refresh(t.refresh_token ?? '');
    await postForm(`${sb.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: r.refresh_token ?? '' }, { authorization: basic('plugboard-rotating', 'plugboard-rotating-secret') });
    await postForm(`${sb.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic('ghost', 'x') });
    await postForm(`${sb.url}/oauth/revoke`, { token: t.access_token }, { authorization: DEMO });
    assert.equal(sb.admin.count('token'), 4);
    assert.equal(sb.admin.count('token', { clientId: 'plugboard-demo' }), 2);
    assert.equal(sb.admin.count('token', { clientId: 'plugboard-demo', outcome: '200' }), 1);
    assert.equal(sb.admin.count('token', { clientId: 'plugboard-demo', outcome: '503' }), 1);
    assert.equal(sb.admin.count('token', { clientId: 'plugboard-rotating' }), 1);
    assert.equal(sb.admin.count('token', { clientId: '-' }), 1, 'an unknown client counts as anonymous');
    assert.equal(sb.admin.count('revoke', { clientId: 'plugboard-demo', outcome: '200' }), 1);
    assert.equal(sb.admin.count('introspect'), 0);
    const snap = sb.admin.counters();
    assert.equal(snap.token?.outcomes['401'], 1);
    snap.token!.calls = 999;
    assert.equal(sb.admin.count('token'), 4, 'a snapshot is a copy');
    sb.admin.resetCounters();
    assert.equal(sb.admin.count('token'), 0);
  });

  it('attribute token-only calls (API, bearer and query revokes) to the token client', async () => {
    const t = sb.admin.issueTokens({ clientId: 'sandbox-query' });
    await call(`${sb.url}/api/me`, { headers: bearer(t.access_token) });
    await call(`${sb.url}/services/oauth2/revoke?token=${t.access_token}`);
    assert.equal(sb.admin.count('api', { clientId: 'sandbox-query' }), 1);
    assert.equal(sb.admin.count('revoke', { clientId: 'sandbox-query', outcome: '200' }), 1);
  });
});

describe('admin HTTP API', () => {
  it('sets, lists and clears faults and reads and resets counters', async () => {
    const set = await sendJson(`${sb.url}/_admin/faults/revoke`, 'PUT', { kind: 'status', status: 502, everyNth: 2 });
    assert.equal(set.status, 200);
    assert.equal(set.json().endpoint, 'revoke');
    assert.equal((await call(`${sb.url}/_admin/faults`)).json().faults.length, 1);
    const bad = await sendJson(`${sb.url}/_admin/faults/revoke`, 'PUT', { kind: 'status', status: 99 });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().path, 'status');
    assert.equal((await sendJson(`${sb.url}/_admin/faults/nowhere`, 'PUT', { kind: 'reset' })).status, 404);
    assert.equal((await call(`${sb.url}/_admin/faults/revoke`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`${sb.url}/_admin/faults`)).json().faults.length, 0);
    await call(`${sb.url}/api/ping`);
    assert.equal((await call(`${sb.url}/_admin/counters`)).json().counters.api.calls, 1);
    assert.equal((await call(`${sb.url}/_admin/counters`, { method: 'DELETE' })).status, 204);
    assert.deepEqual((await call(`${sb.url}/_admin/counters`)).json().counters, {});
  });

  it('manages clients, users, tokens, the clock and settings', async () => {
    const created = await sendJson(`${sb.url}/_admin/clients`, 'POST', { id: 'http-client', revokeStyle: 'slack', rotateRefreshTokens: true });
    assert.equal(created.status, 201);
    assert.match(created.json().secret, /^sbx_secret_/);
    const shown = await call(`${sb.url}/_admin/clients/http-client`);
    assert.equal(shown.json().secret, undefined, 'the secret is not shown again');
    assert.equal(shown.json().public, false);
    assert.equal((await call(`${sb.url}/_admin/clients`)).json().clients.some((c: { secret?: string }) => c.secret !== undefined), false);
    assert.equal((await sendJson(`${sb.url}/_admin/clients/http-client`, 'PATCH', { revokeStyle: 'json' })).json().revokeStyle, 'json');
    assert.equal((await sendJson(`${sb.url}/_admin/clients/http-client`, 'PATCH', { revokeStyle: 'carrier-pigeon' })).json().path, 'revokeStyle');
    assert.equal((await sendJson(`${sb.url}/_admin/clients`, 'POST', { id: 'http-client' })).status, 409);
    assert.equal((await sendJson(`${sb.url}/_admin/clients`, 'POST', { id: 'x', redirectUris: ['relative/path'] })).json().path, 'redirectUris[0]');
    assert.equal((await sendJson(`${sb.url}/_admin/users`, 'POST', { username: 'dave' })).status, 201);
    assert.equal((await call(`${sb.url}/_admin/users`)).json().users.length, 4);
    const issued = (await sendJson(`${sb.url}/_admin/tokens/issue`, 'POST', { clientId: 'http-client', userId: 'dave' })).json();
    assert.equal((await sendJson(`${sb.url}/_admin/tokens/lookup`, 'POST', { token: issued.access_token })).json().userId, 'user-dave');
    assert.equal((await sendJson(`${sb.url}/_admin/tokens/revoke`, 'POST', { token: issued.refresh_token, reach: 'family' })).json().revoked, 2);
    assert.equal((await sendJson(`${sb.url}/_admin/tokens/lookup`, 'POST', { token: issued.access_token })).json().state, 'revoked');
    assert.equal((await sendJson(`${sb.url}/_admin/tokens/revoke`, 'POST', { token: issued.access_token, reach: 'everything' })).status, 400);
    const fresh = (await sendJson(`${sb.url}/_admin/tokens/issue`, 'POST', { clientId: 'http-client' })).json();
    assert.equal((await sendJson(`${sb.url}/_admin/clock`, 'POST', { advanceSeconds: 4000 })).status, 204);
    assert.equal((await sendJson(`${sb.url}/_admin/tokens/lookup`, 'POST', { token: fresh.access_token })).json().state, 'expired');
    assert.equal((await sendJson(`${sb.url}/_admin/clock`, 'POST', { advanceSeconds: -1 })).status, 400);
    assert.equal((await sendJson(`${sb.url}/_admin/settings`, 'PATCH', { accessTokenTtl: 60 })).json().accessTokenTtl, 60);
    assert.equal((await sendJson(`${sb.url}/_admin/settings`, 'PATCH', { accessTokenTtl: 'soon' })).status, 400);
    assert.equal((await call(`${sb.url}/_admin/clients/http-client`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`${sb.url}/_admin/clients/http-client`)).status, 404);
    assert.equal((await call(`${sb.url}/_admin/nothing`)).status, 404);
    assert.equal((await call(`${sb.url}/_admin/clients`, { method: 'PUT' })).status, 405);
    assert.equal((await call(`${sb.url}/_admin/clients`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'id=x' })).status, 415);
    assert.equal((await call(`${sb.url}/_admin/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })).status, 400);
    assert.equal((await call(`${sb.url}/_admin/clients/%E0%A4%A`)).status, 400);
  });

  it('requires the admin token when one is configured', async () => {
    const s = await startSandbox({ adminToken: 'let-me-in' });
    try {
      assert.equal((await call(`${s.url}/_admin/faults`)).status, 401);
      assert.equal((await call(`${s.url}/_admin/faults`, { headers: bearer('wrong') })).status, 401);
      assert.equal((await call(`${s.url}/_admin/faults`, { headers: bearer('let-me-in') })).status, 200);
      assert.equal((await call(`${s.url}/.well-known/oauth-authorization-server`)).status, 200, 'the provider itself stays open');
    } finally {
      await s.close();
    }
  });

  it('warns loudly and generates an admin token when bound beyond loopback', async () => {
    const warnings: string[] = [];
    const s = await startSandbox({ host: '0.0.0.0', warn: (m) => warnings.push(m) });
    try {
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /WARNING.*not on loopback/);
      assert.ok(s.adminToken);
      assert.ok(warnings[0].includes(s.adminToken ?? 'missing'));
      assert.equal((await call(`${s.url}/_admin/faults`)).status, 401);
      assert.equal((await call(`${s.url}/_admin/faults`, { headers: bearer(s.adminToken ?? '') })).status, 200);
    } finally {
      await s.close();
    }
    assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('::1') && isLoopbackHost('localhost') && isLoopbackHost('127.1.2.3'));
    assert.ok(!isLoopbackHost('0.0.0.0') && !isLoopbackHost('192.168.1.10') && !isLoopbackHost('::'));
    const quiet: string[] = [];
    const l = await startSandbox({ warn: (m) => quiet.push(m) });
    await l.close();
    assert.deepEqual(quiet, []);
    assert.equal(l.adminToken, null);
  });
});

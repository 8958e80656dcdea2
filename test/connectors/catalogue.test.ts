/**
 * Every built-in catalogue connector against its row of the revoke catalogue (fixtures/revoke-catalogue.json, the
 * shared reference): one connector per row, the same provenance (style, client auth, success status, confirmed,
 * source, unregister URL), and a `_revoke` that sends what the row documents: method, URL, where the token goes and
 * how the client authenticates. An in-process provider answers, so every documented answer (errors included) can be
 * played; revoke-sandbox*.test.ts run the same flows against the sandbox. A failing answer is never reported as revoked.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { runRevoke, handlerTransport, type HttpRequest } from '../../src/flows/index.ts';
import { builtinCatalogue, type ConnectorEntry } from '../../src/connectors/registry.ts';
import { fillUrlTemplate } from '../../src/connectors/schema.ts';
import type { CompiledConnectorFlows } from '../../src/flows/index.ts';

interface Row {
  provider: string;
  revokeUrl: string | null;
  method: string | null;
  tokenIn: string | null;
  clientAuth: string | null;
  tokenTypeHint: boolean | null;
  scope: string;
  successStatus: number | null;
  unregisterUrl: string | null;
  confirmed: boolean;
  source: string;
}

const rows = JSON.parse(await readFile(new URL('./fixtures/revoke-catalogue.json', import.meta.url), 'utf8')) as Row[];
type Compiled = ConnectorEntry<CompiledConnectorFlows> & { compiled: CompiledConnectorFlows };
let byRow: Map<string, Compiled>;

before(async () => {
  const catalogue = await builtinCatalogue();
  byRow = new Map();
  for (const e of catalogue.entries) {
    const row = e.definition.revocation?.catalogueRow;
    if (row === undefined) continue;
    assert.ok(!byRow.has(row), `two connectors follow the row ${row}`);
    byRow.set(row, e as Compiled);
  }
});

const AT = 'at-3f9c1e7a5b';
const RT = 'rt-8d2b6f4c0e';
const CLIENT_ID = 'client-id-71';
const CLIENT_SECRET = 'client-secret-5e0a';
const API_KEY = 'api-key-c4d2';

function authFor(e: Compiled) {
  const configuration = Object.fromEntries(e.definition.configuration.map((f) => [f.key, f.default ?? `cfg${f.key.toLowerCase().replace(/[^a-z0-9]/g, '')}`]));
  return {
    accessToken: AT, refreshToken: RT, tokenType: 'Bearer', expiresAt: null, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, apiKey: API_KEY,
    baseUrl: fillUrlTemplate(e.definition.baseUrl, configuration), configuration,
  };
}

/** The row's URL template as a pattern: each `{placeholder}` is one path or host segment. */
function urlPattern(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/?#]+')}$`);
}

/** Rows whose connector deliberately uses a documented variant of the catalogue URL. */
const URL_VARIANTS: Record<string, RegExp> = {
  // The signed-in user's own sessions: /me/revokeSignInSessions (documented beside /users/{id}/...).
  'Microsoft Entra ID (all sessions of a user)': /^https:\/\/graph\.microsoft\.com\/v1\.0\/me\/revokeSignInSessions$/,
};

async function revokeOnce(e: Compiled, answer: { status: number; body: string }) {
  const calls: HttpRequest[] = [];
  const transport = handlerTransport((req) => {
    calls.push(req);
    return { statusCode: answer.status, headers: { 'content-type': 'application/json' }, body: answer.body };
  });
  const result = await runRevoke(e.compiled, { auth: authFor(e), transport });
  return { result, calls };
}

function successAnswer(row: Row) {
  return { status: row.successStatus ?? 200, body: row.provider.startsWith('Slack') ? '{"ok":true}' : '{}' };
}

describe('the built-in catalogue follows the revoke catalogue', () => {
  test('one connector per catalogue row', () => {
    assert.equal(rows.length, 49);
    assert.deepEqual(rows.map((r) => r.provider).filter((p) => !byRow.has(p)), []);
    assert.equal(byRow.size, rows.length);
  });

  test('provenance matches the row: style, client auth, success status, confirmed, source, unregister URL', () => {
    for (const row of rows) {
      const e = byRow.get(row.provider) as Compiled;
      const rev = e.definition.revocation;
      assert.ok(rev, row.provider);
      assert.equal(rev.style, row.tokenIn ?? 'no_endpoint', row.provider);
      assert.equal(rev.clientAuth, row.clientAuth ?? undefined, row.provider);
      assert.equal(rev.successStatus, row.successStatus, row.provider);
      assert.equal(rev.confirmed, row.confirmed, row.provider);
      assert.equal(rev.source, row.source, row.provider);
      assert.equal(e.definition.unregisterUrl, row.unregisterUrl, row.provider);
      if (!row.confirmed) assert.match(rev.statement ?? '', /re-verify/i, `${row.provider} must say what to re-verify`);
    }
  });

  for (const row of rows.filter((r) => r.revokeUrl !== null)) {
    test(`${row.provider}: _revoke sends ${row.method} ${row.revokeUrl} (token: ${row.tokenIn}, client: ${row.clientAuth})`, async () => {
      const e = byRow.get(row.provider) as Compiled;
      const { result, calls } = await revokeOnce(e, successAnswer(row));
      assert.equal(result.status, 'succeeded', result.error?.message);
      assert.equal(result.outputs.revoked, true, JSON.stringify(result.outputs));
      assert.equal(calls.length, 1);
      const [call] = calls;
      const url = new URL(call.url);
      assert.equal(call.method, row.method);
      assert.match(`${url.origin}${url.pathname}`, URL_VARIANTS[row.provider] ?? urlPattern(row.revokeUrl as string));

      const body = call.body ?? '';
      const contentType = call.headers['content-type'] ?? '';
      const authorization = call.headers.authorization;
      const tokenSent = (where: string) => where.includes(AT) || where.includes(RT);
      switch (row.tokenIn) {
        case 'form_body':
          assert.match(contentType, /application\/x-www-form-urlencoded/);
          if (row.clientAuth === 'secret_api_key') {
            // Stripe deauthorizes a connected account: the form names the account, not a token.
            assert.equal(new URLSearchParams(body).get('stripe_user_id'), 'cfgstripeuserid');
          } else assert.ok(tokenSent(body), `${row.provider}: token in the form body`);
          break;
        case 'json_body':
          assert.match(contentType, /application\/json/);
          assert.ok(Object.values(JSON.parse(body) as Record<string, unknown>).some((v) => v === AT || v === RT), `${row.provider}: token in the JSON body`);
          break;
        case 'query':
          assert.ok(tokenSent(url.search), `${row.provider}: token in the query string`);
          break;
        case 'bearer_header':
          assert.ok(authorization === `Bearer ${AT}` || authorization === `Bearer ${API_KEY}`, `${row.provider}: ${authorization}`);
          break;
        case 'header':
          assert.equal(call.headers['x-shopify-access-token'], AT);
          break;
        case 'path':
          if (row.revokeUrl?.includes('{token}')) assert.ok(url.pathname.includes(RT), `${row.provider}: refresh token in the path`);
          break;
        case 'none':
          assert.ok(!tokenSent(body) && !tokenSent(call.url), `${row.provider}: no token parameter`);
          break;
      }
      switch (row.clientAuth) {
        case 'client_secret_basic':
          assert.equal(authorization, `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`);
          break;
        case 'client_secret_post':
          assert.ok(body.includes(CLIENT_SECRET) && body.includes(CLIENT_ID), `${row.provider}: client id and secret in the body`);
          assert.ok(!authorization?.startsWith('Basic'), `${row.provider}: one client authentication method (RFC 6749 §2.3.1)`);
          break;
        case 'none':
          assert.ok(![body, call.url, ...Object.values(call.headers)].some((v) => v.includes(CLIENT_SECRET)), `${row.provider}: no client secret is sent`);
          break;
        case 'bearer_access_token':
          assert.ok(
            authorization === `Bearer ${AT}` || url.searchParams.get('access_token') === AT || authorization === `Bearer ${API_KEY}` || call.headers['x-shopify-access-token'] === AT,
            `${row.provider}: authorized by the token`,
          );
          assert.ok(![body, call.url, ...Object.values(call.headers)].some((v) => v.includes(CLIENT_SECRET)), `${row.provider}: no client secret is sent`);
          break;
        case 'app_jwt':
          assert.equal(authorization, `Bearer ${API_KEY}`);
          break;
        case 'secret_api_key':
          assert.equal(authorization, `Bearer ${CLIENT_SECRET}`);
          break;
        case 'app_secret_header':
          assert.equal(authorization, `Client ${CLIENT_SECRET}`);
          break;
      }
      if (row.tokenTypeHint === true && row.tokenIn === 'form_body') {
        assert.match(body, /token_type_hint=(refresh_token|access_token)/, `${row.provider} accepts token_type_hint`);
      }
    });
  }

  test('a provider error is never reported as revoked, and the person is told where to go', async () => {
    for (const row of rows.filter((r) => r.revokeUrl !== null)) {
      const e = byRow.get(row.provider) as Compiled;
      for (const status of [401, 500, 503]) {
        const { result } = await revokeOnce(e, { status, body: '{"error":"server_error"}' });
        assert.equal(result.outputs.revoked, false, `${row.provider} on ${status}`);
        assert.equal(result.outputs.message.unregisterURL, row.unregisterUrl, row.provider);
        assert.match(result.outputs.message.text, /unable to completely revoke/, row.provider);
        assert.equal(result.outputs.serviceResponse.statusCode, status);
      }
    }
  });

  test('Slack: HTTP 200 with ok:false is not revoked', async () => {
    for (const provider of ['Slack - single token', 'Slack - uninstall app']) {
      const { result } = await revokeOnce(byRow.get(provider) as Compiled, { status: 200, body: '{"ok":false,"error":"invalid_auth"}' });
      assert.equal(result.outputs.revoked, false, provider);
    }
  });

  test('an already-invalid token counts as revoked for Google, Salesforce and Adobe Sign only', async () => {
    const dead: Record<string, string> = { Google: '{"error":"invalid_token"}', Salesforce: '{"error":"invalid_token"}', 'Adobe Acrobat Sign': '{"code":"INVALID_TOKEN"}' };
    for (const [provider, body] of Object.entries(dead)) {
      assert.equal((await revokeOnce(byRow.get(provider) as Compiled, { status: 400, body })).result.outputs.revoked, true, provider);
      assert.equal((await revokeOnce(byRow.get(provider) as Compiled, { status: 400, body: '{"error":"invalid_request"}' })).result.outputs.revoked, false, provider);
    }
    assert.equal((await revokeOnce(byRow.get('Adobe Acrobat Sign') as Compiled, { status: 400, body: '{"code":"EXPIRED_TOKEN"}' })).result.outputs.revoked, true);
    assert.equal((await revokeOnce(byRow.get('Box') as Compiled, { status: 400, body: '{"error":"invalid_token"}' })).result.outputs.revoked, false, 'not for other providers');
  });

  test('with only an access token, the access token is revoked (refresh-token-first otherwise)', async () => {
    const e = byRow.get('Google') as Compiled;
    const calls: HttpRequest[] = [];
    const transport = handlerTransport((req) => {
      calls.push(req);
      return { statusCode: 200, headers: {}, body: '' };
    });
    await runRevoke(e.compiled, { auth: { ...authFor(e), refreshToken: null }, transport });
    await runRevoke(e.compiled, { auth: authFor(e), transport });
    assert.equal(new URLSearchParams(calls[0].body ?? '').get('token'), AT);
    assert.equal(new URLSearchParams(calls[1].body ?? '').get('token'), RT);
  });
});

/**
 * Built-in `_revoke` flows against the sandbox provider. The sandbox connectors run against the real sandbox with the
 * sandbox client of their style; the catalogue connectors run with their URLs pointed at the sandbox endpoint of the
 * matching style (a transport that swaps the origin and, where the style lives at another path, the path), so the
 * sandbox judges the request shape each one sends. Negative cases: a dead token, a wrong client secret, a 503, an
 * unreachable provider; connectors without a revoke endpoint send nothing and point to the unregister page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox, type RevokeStyle } from '../../src/sandbox/index.ts';
import { runAuthping, runRevoke, type HttpTransport, type HttpRequest } from '../../src/flows/index.ts';
import { pointedAt as pointedAtSandbox } from './sandbox-transport.ts';
import { builtinCatalogue, type ConnectorEntry } from '../../src/connectors/registry.ts';
import type { CompiledConnectorFlows } from '../../src/flows/index.ts';

let sb: Sandbox;
let catalogue: Awaited<ReturnType<typeof builtinCatalogue>>;
before(async () => {
  // Reddit's RFC 7009 endpoint answers 204, not 200: a client of the same style with that success status.
  sb = await startSandbox({ clients: [{ id: 'sandbox-rfc7009-basic-204', secret: 'sandbox-rfc7009-basic-204-secret', revokeStyle: 'rfc7009-basic', revokeSuccessStatus: 204 }] });
  catalogue = await builtinCatalogue();
});
after(async () => {
  await sb?.close();
});

function entry(key: string): ConnectorEntry<CompiledConnectorFlows> & { compiled: CompiledConnectorFlows } {
  const found = catalogue.get(key);
  assert.ok(found?.compiled, `connector ${key} is missing or did not compile`);
  return found as ConnectorEntry<CompiledConnectorFlows> & { compiled: CompiledConnectorFlows };
}

/** A fresh token pair of `clientId` for Alice, and the auth object a flow sees for it. */
function connect(clientId: string, configuration: Record<string, string> = {}) {
  const tokens = sb.admin.issueTokens({ clientId, userId: 'user-alice' });
  const auth = {
    accessToken: tokens.access_token, refreshToken: tokens.refresh_token ?? null, tokenType: 'Bearer', expiresAt: null,
    clientId, clientSecret: `${clientId}-secret`, baseUrl: sb.url, configuration,
  };
  return { tokens, auth };
}

/** Sends every request to the sandbox: same path, or the style's own path when the provider's differs. */
function pointedAt(style: RevokeStyle, calls: HttpRequest[] = []): HttpTransport {
  return pointedAtSandbox(sb.url, style, calls);
}

const SANDBOX_CONNECTORS: Array<{ key: string; client: string; style: RevokeStyle; secondTime: boolean }> = [
  { key: 'sandbox', client: 'plugboard-demo', style: 'rfc7009-basic', secondTime: true },
  { key: 'sandbox-rfc7009-post', client: 'sandbox-rfc7009-post', style: 'rfc7009-post', secondTime: true },
  { key: 'sandbox-query', client: 'sandbox-query', style: 'query', secondTime: true },
  { key: 'sandbox-bearer', client: 'sandbox-bearer', style: 'bearer', secondTime: false },
  { key: 'sandbox-json', client: 'sandbox-json', style: 'json', secondTime: true },
  { key: 'sandbox-github-grant', client: 'sandbox-github-grant', style: 'github-grant', secondTime: false },
  { key: 'sandbox-slack', client: 'sandbox-slack', style: 'slack', secondTime: false },
  { key: 'sandbox-google', client: 'sandbox-google', style: 'google', secondTime: true },
];

describe('sandbox connectors revoke against the sandbox in their own style', () => {
  for (const c of SANDBOX_CONNECTORS) {
    test(`${c.key} (${c.style}) revokes, and a second attempt is ${c.secondTime ? 'still revoked (dead token counts)' : 'reported as not revoked'}`, async () => {
      const { tokens, auth } = connect(c.client);
      const first = await runRevoke(entry(c.key).compiled, { auth });
      assert.equal(first.status, 'succeeded', first.error?.message);
      assert.equal(first.outputs.revoked, true, JSON.stringify(first.outputs));
      assert.equal(sb.admin.tokenState(tokens.access_token).state, 'revoked', 'the access token is dead at the provider');
      const second = await runRevoke(entry(c.key).compiled, { auth });
      assert.equal(second.outputs.revoked, c.secondTime, JSON.stringify(second.outputs));
      if (!second.outputs.revoked) assert.equal(second.outputs.message.unregisterURL, 'http://127.0.0.1:8081/');
    });
  }

  test('_authping says working for a live token and not working once it is revoked (verification)', async () => {
    for (const c of SANDBOX_CONNECTORS) {
      const { auth } = connect(c.client);
      const live = await runAuthping(entry(c.key).compiled, { auth });
      assert.equal(live.outputs.working, true, `${c.key}: ${JSON.stringify(live.outputs)}`);
      await runRevoke(entry(c.key).compiled, { auth });
      const dead = await runAuthping(entry(c.key).compiled, { auth });
      assert.equal(dead.outputs.working, false, c.key);
      assert.equal(dead.outputs.serviceResponse.statusCode, 401, c.key);
    }
  });

  test('sandbox-none sends nothing and says where to remove access by hand', async () => {
    const { auth } = connect('sandbox-none');
    const before = sb.admin.count('revoke');
    const result = await runRevoke(entry('sandbox-none').compiled, { auth });
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.message.unregisterURL, 'http://127.0.0.1:8081/');
    assert.match(result.outputs.message.text, /no way for an app to revoke/);
    assert.equal(sb.admin.count('revoke'), before);
  });

  test('a wrong client secret is not revoked; the token survives; the unregister text is returned', async () => {
    const { tokens, auth } = connect('plugboard-demo');
    const result = await runRevoke(entry('sandbox').compiled, { auth: { ...auth, clientSecret: 'wrong-secret' } });
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 401);
    assert.match(result.outputs.message.text, /unable to completely revoke/);
    assert.equal(sb.admin.tokenState(tokens.refresh_token ?? '').state, 'active');
  });

  test('a 503 from the provider is not revoked', async () => {
    const { tokens, auth } = connect('plugboard-demo');
    sb.admin.setFault('revoke', { kind: 'status', status: 503, times: 1 });
    const result = await runRevoke(entry('sandbox').compiled, { auth });
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 503);
    assert.equal(sb.admin.tokenState(tokens.access_token).state, 'active');
  });

  test('an unreachable provider is caught by the If Error card: not revoked, status 0, a message', async () => {
    const { auth } = connect('plugboard-demo');
    const result = await runRevoke(entry('sandbox').compiled, { auth: { ...auth, baseUrl: 'http://127.0.0.1:9' } });
    assert.equal(result.status, 'succeeded');
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 0);
    assert.ok(String(result.outputs.serviceResponse.body).length > 0);
  });

  test('no secret reaches the revoke outputs', async () => {
    const { auth } = connect('plugboard-demo');
    const result = await runRevoke(entry('sandbox').compiled, { auth: { ...auth, clientSecret: 'wrong-secret' } });
    const text = JSON.stringify(result.outputs);
    for (const secret of [auth.accessToken, auth.refreshToken ?? '', 'wrong-secret']) assert.ok(!text.includes(secret));
  });
});

/** Catalogue connectors and the sandbox style whose request shape matches their provider's. */
const CATALOGUE_IN_STYLE: Array<{ key: string; style: RevokeStyle; client?: string; why?: string }> = [
  { key: 'google', style: 'google' },
  { key: 'salesforce', style: 'google', why: 'form token, no client auth, 400 invalid_token for a dead token' },
  { key: 'adobe-sign', style: 'google', why: 'form token, no client auth' },
  { key: 'twitch', style: 'google', why: 'form token with client_id only' },
  { key: 'zoho', style: 'query' },
  { key: 'gitlab', style: 'rfc7009-post' },
  { key: 'box', style: 'rfc7009-post' },
  { key: 'linkedin', style: 'rfc7009-post' },
  { key: 'asana', style: 'rfc7009-post' },
  { key: 'calendly', style: 'rfc7009-post' },
  { key: 'hubspot-token', style: 'rfc7009-post' },
  { key: 'zoom', style: 'rfc7009-basic' },
  { key: 'x', style: 'rfc7009-basic' },
  { key: 'discord', style: 'rfc7009-basic' },
  { key: 'xero', style: 'rfc7009-basic' },
  { key: 'okta', style: 'rfc7009-basic' },
  { key: 'canva', style: 'rfc7009-basic' },
  { key: 'airtable', style: 'rfc7009-basic' },
  { key: 'reddit', style: 'rfc7009-basic', client: 'sandbox-rfc7009-basic-204', why: 'a client answering 204, as Reddit does' },
  { key: 'notion', style: 'json' },
  { key: 'quickbooks', style: 'json' },
  { key: 'dropbox', style: 'bearer' },
  { key: 'linear', style: 'bearer' },
  { key: 'github', style: 'github-grant' },
  { key: 'github-token', style: 'github-grant' },
  { key: 'slack', style: 'slack' },
];

describe('catalogue connectors revoke against the sandbox in the matching style', () => {
  for (const c of CATALOGUE_IN_STYLE) {
    test(`${c.key} in the ${c.style} style${c.why ? ` (${c.why})` : ''}`, async () => {
      const def = entry(c.key);
      const configuration = Object.fromEntries(def.definition.configuration.map((f) => [f.key, f.default ?? `cfg-${f.key}`]));
      const { tokens, auth } = connect(c.client ?? `sandbox-${c.style}`, configuration);
      const calls: HttpRequest[] = [];
      const result = await runRevoke(def.compiled, { auth, transport: pointedAt(c.style, calls) });
      assert.equal(result.status, 'succeeded', result.error?.message);
      assert.equal(calls.length, 1, 'one request to the revoke endpoint');
      assert.equal(sb.admin.tokenState(tokens.access_token).state, 'revoked', `the sandbox accepted the request and revoked: ${JSON.stringify(result.outputs.serviceResponse)}`);
      assert.equal(result.outputs.revoked, true, JSON.stringify(result.outputs));
    });
  }

  test('Reddit against a 200-answering RFC 7009 client is not revoked although the token died: its flow checks for 204', async () => {
    const { tokens, auth } = connect('sandbox-rfc7009-basic');
    const result = await runRevoke(entry('reddit').compiled, { auth, transport: pointedAt('rfc7009-basic') });
    assert.equal(sb.admin.tokenState(tokens.access_token).state, 'revoked');
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 200);
  });

  test('an already-dead token counts as revoked for Google, Salesforce and Adobe Sign, not for Box', async () => {
    for (const key of ['google', 'salesforce', 'adobe-sign', 'box']) {
      const def = entry(key);
      const style: RevokeStyle = key === 'box' ? 'rfc7009-post' : 'google';
      const configuration = Object.fromEntries(def.definition.configuration.map((f) => [f.key, f.default ?? `cfg-${f.key}`]));
      const dead = { ...connect(`sandbox-${style}`, configuration).auth, accessToken: 'dead-token', refreshToken: null };
      const result = await runRevoke(def.compiled, { auth: dead, transport: pointedAt(style) });
      if (key === 'adobe-sign') {
        // The sandbox answers {"error":"invalid_token"}; Adobe Sign's own body is {"code":"INVALID_TOKEN"}.
        assert.equal(result.outputs.revoked, false);
      } else {
        // Box gets RFC 7009's 200 for an unknown token, which is revoked by definition (§2.2).
        assert.equal(result.outputs.revoked, true, `${key}: ${JSON.stringify(result.outputs)}`);
      }
    }
  });

  test('connectors without a revoke endpoint send nothing and point to the unregister page', async () => {
    const none = catalogue.entries.filter((e) => e.definition.revocation?.style === 'no_endpoint' && !e.key.startsWith('sandbox'));
    assert.deepEqual(none.map((e) => e.key).sort(), ['atlassian', 'bitbucket', 'docusign', 'figma', 'mailchimp', 'paypal', 'pinterest', 'spotify']);
    for (const e of none) {
      const calls: HttpRequest[] = [];
      const result = await runRevoke((e as ReturnType<typeof entry>).compiled, { auth: connect('sandbox-none').auth, transport: pointedAt('none', calls) });
      assert.equal(calls.length, 0, e.key);
      assert.equal(result.outputs.revoked, false);
      assert.equal(result.outputs.message.unregisterURL, e.definition.unregisterUrl, e.key);
      assert.match(result.outputs.message.text, /deleted its copy of the tokens/);
    }
  });
});

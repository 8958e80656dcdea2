/**
 * The catalogue connectors that delete a token or grant by path, uninstall the app, deauthorize an account or end a
 * user's sessions, each running its real `_revoke` flow against the sandbox style that imitates its provider, with
 * its URLs pointed at the sandbox. Alice holds two authorizations of the style's client (a, b), one of another client
 * (other), and Bob one of the same client (bob); each case names exactly which of those tokens die and which live,
 * as the provider documents. Negative cases: a second attempt on dead tokens, wrong client credentials, a stale or
 * foreign app JWT, a provider error, an unreachable provider. The last test checks that this file and
 * revoke-sandbox.test.ts together run all 49 catalogue connectors against the sandbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type IssuedTokens, type RevokeStyle, type Sandbox } from '../../src/sandbox/index.ts';
import { runRevoke, type CompiledConnectorFlows, type HttpRequest } from '../../src/flows/index.ts';
import { builtinCatalogue, type ConnectorEntry } from '../../src/connectors/registry.ts';
import { fillUrlTemplate } from '../../src/connectors/schema.ts';
import { pointedAt } from './sandbox-transport.ts';

let sb: Sandbox;
let catalogue: Awaited<ReturnType<typeof builtinCatalogue>>;
before(async () => {
  sb = await startSandbox();
  catalogue = await builtinCatalogue();
});
after(async () => {
  await sb?.close();
});

type Compiled = ConnectorEntry<CompiledConnectorFlows> & { compiled: CompiledConnectorFlows };

function entry(key: string): Compiled {
  const found = catalogue.get(key);
  assert.ok(found?.compiled, `connector ${key} is missing or did not compile`);
  return found as Compiled;
}

/** The tokens a case looks at: Alice's two authorizations of the style's client, another client's, and Bob's. */
interface World {
  client: string;
  a: IssuedTokens;
  b: IssuedTokens;
  other: IssuedTokens;
  bob: IssuedTokens;
}
type TokenName = `${'a' | 'b' | 'other' | 'bob'}.${'access' | 'refresh'}`;
const ALL: TokenName[] = ['a.access', 'a.refresh', 'b.access', 'b.refresh', 'other.access', 'other.refresh', 'bob.access', 'bob.refresh'];

function token(world: World, name: TokenName): string {
  const [who, kind] = name.split('.') as ['a' | 'b' | 'other' | 'bob', 'access' | 'refresh'];
  const t = world[who];
  return kind === 'access' ? t.access_token : (t.refresh_token ?? '');
}

function makeWorld(client: string): World {
  return {
    client,
    a: sb.admin.issueTokens({ clientId: client, userId: 'user-alice' }),
    b: sb.admin.issueTokens({ clientId: client, userId: 'user-alice' }),
    other: sb.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'user-alice' }),
    bob: sb.admin.issueTokens({ clientId: client, userId: 'user-bob' }),
  };
}

/**
 * The auth a flow sees for Alice's authorization `a`, plus what a case adds (configuration, an app JWT...). The base
 * URL is the provider's own (its path prefix, e.g. Graph's `/v1.0`, matters); the transport swaps the origin.
 */
function authFor(e: Compiled, world: World, extra: { configuration?: Record<string, string>; apiKey?: string } = {}) {
  const defaults = Object.fromEntries(e.definition.configuration.map((f) => [f.key, f.default ?? `cfg-${f.key.toLowerCase().replace(/[^a-z0-9]/g, '')}`]));
  const configuration = { ...defaults, ...extra.configuration };
  return {
    accessToken: world.a.access_token, refreshToken: world.a.refresh_token ?? null, tokenType: 'Bearer', expiresAt: null,
    clientId: world.client, clientSecret: `${world.client}-secret`, baseUrl: fillUrlTemplate(e.definition.baseUrl, configuration),
    configuration, ...(extra.apiKey === undefined ? {} : { apiKey: extra.apiKey }),
  };
}

interface Case {
  key: string;
  style: RevokeStyle;
  /** What the provider kills when this connector's request succeeds; every other token of the world lives. */
  dies: TokenName[];
  why: string;
  /** Per-case auth additions, given the world. */
  extra?: (world: World) => { configuration?: Record<string, string>; apiKey?: string };
  /** Whether a second attempt, on dead tokens, still counts as revoked (the provider answers success for those). */
  secondTime?: boolean;
}

const APP = ['a.access', 'a.refresh', 'b.access', 'b.refresh'] satisfies TokenName[];

const CASES: Case[] = [
  { key: 'auth0', style: 'json-post', dies: ['a.refresh', 'b.refresh'], secondTime: true, why: 'every refresh token of the app for the user; JWT access tokens live until they expire' },
  { key: 'facebook', style: 'facebook', dies: APP, why: 'DELETE /me/permissions de-authorizes the app for the user' },
  {
    key: 'github-app', style: 'app-jwt', dies: APP, why: 'the app JWT uninstalls the installation (the installation id is the sandbox user)',
    extra: () => ({ apiKey: sb.admin.appJwt('sandbox-app-jwt'), configuration: { installation_id: 'user-alice' } }),
  },
  { key: 'github-app-installation', style: 'installation-token', dies: ['a.access'], why: 'only the installation token itself', extra: (w) => ({ apiKey: w.a.access_token }) },
  { key: 'hubspot', style: 'uninstall', dies: APP, why: 'DELETE /appinstalls/v3/external-install uninstalls the app' },
  { key: 'hubspot-v1', style: 'delete-path', dies: ['a.refresh'], why: 'the refresh token in the path; existing access tokens keep working' },
  {
    key: 'microsoft', style: 'delete-path', dies: ['a.refresh', 'b.refresh'], why: 'deleting the oauth2PermissionGrant removes the consent grant; access tokens live until they expire',
    extra: (w) => ({ configuration: { permissionGrantId: sb.admin.tokenState(w.a.access_token).familyId ?? '' } }),
  },
  {
    key: 'microsoft-sign-in-sessions', style: 'sign-in-sessions', dies: ['a.refresh', 'b.refresh', 'other.refresh'],
    why: "every refresh token of the user, of every app; access tokens live until they expire", secondTime: true,
  },
  { key: 'shopify', style: 'header', dies: APP, why: 'DELETE api_permissions/current uninstalls the app from the shop' },
  { key: 'slack-uninstall', style: 'uninstall', dies: APP, why: 'apps.uninstall removes the app from the workspace' },
  { key: 'square', style: 'app-secret-header', dies: APP, why: 'every token of the app for the seller' },
  { key: 'strava', style: 'deauthorize', dies: APP, why: "the athlete's whole grant" },
  { key: 'stripe-connect', style: 'stripe', dies: APP, why: 'the connected account is deauthorized', extra: () => ({ configuration: { stripe_user_id: 'user-alice' } }) },
  { key: 'tiktok', style: 'form-client-key', dies: ['a.access'], secondTime: true, why: 'the access token alone' },
  { key: 'zendesk', style: 'delete-path', dies: ['a.access'], why: 'DELETE tokens/current.json: the bearer token itself' },
];

/** Tokens that fail on their own: after sign-in sessions are revoked, Bob's still work, and so on. */
function assertDeaths(world: World, dies: readonly TokenName[], label: string): void {
  for (const name of ALL) {
    const expected = dies.includes(name) ? 'revoked' : 'active';
    assert.equal(sb.admin.tokenState(token(world, name)).state, expected, `${label}: ${name} should be ${expected}`);
  }
}

describe('catalogue connectors revoke against the sandbox style of their provider', () => {
  for (const c of CASES) {
    test(`${c.key} in the ${c.style} style: ${c.why}`, async () => {
      const e = entry(c.key);
      const world = makeWorld(`sandbox-${c.style}`);
      const auth = authFor(e, world, c.extra?.(world));
      const calls: HttpRequest[] = [];
      const first = await runRevoke(e.compiled, { auth, transport: pointedAt(sb.url, c.style, calls) });
      assert.equal(first.status, 'succeeded', first.error?.message);
      assert.equal(calls.length, 1, 'one request to the revoke endpoint');
      assert.equal(first.outputs.revoked, true, JSON.stringify(first.outputs));
      assertDeaths(world, c.dies, c.key);

      const second = await runRevoke(e.compiled, { auth, transport: pointedAt(sb.url, c.style) });
      assert.equal(second.outputs.revoked, c.secondTime ?? false, `second attempt: ${JSON.stringify(second.outputs)}`);
      if (!second.outputs.revoked) {
        assert.equal(second.outputs.message.unregisterURL, e.definition.unregisterUrl);
        assert.match(second.outputs.message.text, /unable to completely revoke/);
      }
      assertDeaths(world, c.dies, `${c.key} after the second attempt`);
    });
  }

  test('wrong client credentials: not revoked, nothing dies', async () => {
    for (const c of CASES.filter((x) => ['auth0', 'square', 'stripe-connect', 'slack-uninstall', 'tiktok'].includes(x.key))) {
      const e = entry(c.key);
      const world = makeWorld(`sandbox-${c.style}`);
      const auth = { ...authFor(e, world, c.extra?.(world)), clientSecret: 'wrong-secret' };
      const result = await runRevoke(e.compiled, { auth, transport: pointedAt(sb.url, c.style) });
      assert.equal(result.outputs.revoked, false, `${c.key}: ${JSON.stringify(result.outputs)}`);
      assertDeaths(world, [], c.key);
    }
  });

  test("a client of another style is refused at each new style's endpoint, and its tokens live", async () => {
    for (const c of CASES) {
      const e = entry(c.key);
      const world = makeWorld('sandbox-rfc7009-basic');
      const extra = c.key === 'github-app' ? { apiKey: sb.admin.appJwt('sandbox-rfc7009-basic'), configuration: { installation_id: 'user-alice' } } : c.extra?.(world);
      const result = await runRevoke(e.compiled, { auth: authFor(e, world, extra), transport: pointedAt(sb.url, c.style) });
      assert.equal(result.outputs.revoked, false, c.key);
      assertDeaths(world, [], c.key);
    }
  });

  test('GitHub App: a stale, too long-lived or foreign JWT is refused; the manual step is returned', async () => {
    const e = entry('github-app');
    const world = makeWorld('sandbox-app-jwt');
    const configuration = { installation_id: 'user-alice' };
    const stale = sb.admin.appJwt('sandbox-app-jwt', 60);
    sb.admin.advanceTime(120);
    const jwts = { stale, tooLong: sb.admin.appJwt('sandbox-app-jwt', 3600), foreign: sb.admin.appJwt('sandbox-app-jwt').replace(/\.[^.]+$/, `.${sb.admin.appJwt('sandbox-bearer').split('.')[2]}`), notAJwt: 'not-a-jwt' };
    for (const [label, apiKey] of Object.entries(jwts)) {
      const result = await runRevoke(e.compiled, { auth: authFor(e, world, { apiKey, configuration }), transport: pointedAt(sb.url, 'app-jwt') });
      assert.equal(result.outputs.revoked, false, label);
      assert.equal(result.outputs.serviceResponse.statusCode, 401, label);
      assert.equal(result.outputs.message.unregisterURL, 'https://github.com/settings/installations', label);
      assert.match(result.outputs.message.text, /remove the app by hand/, label);
    }
    assertDeaths(world, [], 'github-app with bad JWTs');
    const notInstalled = await runRevoke(e.compiled, { auth: authFor(e, world, { apiKey: sb.admin.appJwt('sandbox-app-jwt'), configuration: { installation_id: 'user-carol' } }), transport: pointedAt(sb.url, 'app-jwt') });
    assert.equal(notInstalled.outputs.serviceResponse.statusCode, 404);
    assert.equal(notInstalled.outputs.revoked, false);
  });

  test('Microsoft: a grant id of another client is not found and nothing dies', async () => {
    const e = entry('microsoft');
    const world = makeWorld('sandbox-delete-path');
    const foreignGrant = sb.admin.tokenState(world.other.access_token).familyId ?? '';
    const result = await runRevoke(e.compiled, { auth: authFor(e, world, { configuration: { permissionGrantId: foreignGrant } }), transport: pointedAt(sb.url, 'delete-path') });
    assert.equal(result.outputs.revoked, false);
    assert.equal(result.outputs.serviceResponse.statusCode, 404);
    assertDeaths(world, [], 'microsoft with a foreign grant');
  });

  test('a 503 from the provider is not revoked, for every connector here', async () => {
    for (const c of CASES) {
      const e = entry(c.key);
      const world = makeWorld(`sandbox-${c.style}`);
      sb.admin.setFault('revoke', { kind: 'status', status: 503, times: 1 });
      const result = await runRevoke(e.compiled, { auth: authFor(e, world, c.extra?.(world)), transport: pointedAt(sb.url, c.style) });
      assert.equal(result.outputs.revoked, false, c.key);
      assert.equal(result.outputs.serviceResponse.statusCode, 503, c.key);
      assertDeaths(world, [], c.key);
    }
    sb.admin.clearFault('revoke');
  });

  test('an unreachable provider is caught: not revoked, status 0', async () => {
    for (const c of CASES) {
      const e = entry(c.key);
      const world = makeWorld(`sandbox-${c.style}`);
      const dead = pointedAt('http://127.0.0.1:9', c.style);
      const result = await runRevoke(e.compiled, { auth: authFor(e, world, c.extra?.(world)), transport: dead });
      assert.equal(result.status, 'succeeded', c.key);
      assert.equal(result.outputs.revoked, false, c.key);
      assert.equal(result.outputs.serviceResponse.statusCode, 0, c.key);
    }
  });

  test('every one of the 49 catalogue connectors runs against the sandbox (here or in revoke-sandbox.test.ts)', async () => {
    const { readFile } = await import('node:fs/promises');
    const other = await readFile(new URL('./revoke-sandbox.test.ts', import.meta.url), 'utf8');
    const inOtherFile = new Set([...other.matchAll(/\{ key: '([a-z0-9-]+)', style: '/g)].map((m) => m[1]));
    const noEndpoint = catalogue.entries.filter((x) => x.definition.revocation?.style === 'no_endpoint' && !x.key.startsWith('sandbox')).map((x) => x.key);
    const rows = catalogue.entries.filter((x) => x.definition.revocation?.catalogueRow !== undefined);
    assert.equal(rows.length, 49);
    const here = new Set(CASES.map((c) => c.key));
    const uncovered = rows.map((x) => x.key).filter((k) => !here.has(k) && !inOtherFile.has(k) && !noEndpoint.includes(k));
    assert.deepEqual(uncovered, []);
  });
});

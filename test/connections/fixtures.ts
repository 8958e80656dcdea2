/**
 * Shared set-up for the connection tests: a sandbox provider on an ephemeral loopback port, and a private connector
 * deployed to the test organization whose URLs point at that sandbox (the built-in `sandbox` connector points at the
 * fixed port 8081 that `npm start` uses). Also follows the sandbox's authorization redirect to get a code the way a
 * browser would.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { parse } from 'yaml';
import type { TestApp } from '../support/app.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';

const SANDBOX_YAML = new URL('../../connectors/sandbox.yaml', import.meta.url);

/** The built-in sandbox definition with every URL moved to `sandbox` and the given changes applied. */
export function sandboxDefinition(sandbox: Sandbox, key: string, change: (def: any) => void = () => undefined): Record<string, unknown> {
  const text = readFileSync(SANDBOX_YAML, 'utf8').replaceAll('http://127.0.0.1:8081', sandbox.url);
  const def = parse(text) as any;
  delete def.$schema;
  def.key = key;
  def.name = `Sandbox ${key}`;
  change(def);
  return def;
}

/** Deploys a private connector and sets the organization's OAuth app for it. */
export async function deployConnector(app: TestApp, definition: Record<string, unknown>, client: { id: string; secret: string } | null, apiKey?: string): Promise<void> {
  const deployed = await app.call('POST', '/elements', { body: definition, ...(apiKey === undefined ? {} : { apiKey }) });
  assert.ok(deployed.status === 201 || deployed.status === 200, `deploy ${String(definition.key)}: ${deployed.text}`);
  if (client !== null) {
    const set = await app.call('PUT', `/elements/${String(definition.key)}/oauth-app`, { body: { clientId: client.id, clientSecret: client.secret }, ...(apiKey === undefined ? {} : { apiKey }) });
    assert.ok(set.status === 200 || set.status === 201 || set.status === 204, `oauth app ${String(definition.key)}: ${set.text}`);
  }
}

/** Opens the authorization URL as a browser would (consent auto-approved or denied) and returns the redirect's query. */
export async function authorize(oauthUrl: string, decision: 'approve' | 'deny' = 'approve'): Promise<URLSearchParams> {
  const url = new URL(oauthUrl);
  url.searchParams.set('sandbox_auto', decision);
  const response = await request(url, { method: 'GET' });
  await response.body.dump();
  assert.ok(response.statusCode >= 300 && response.statusCode < 400, `the sandbox redirects back (got ${response.statusCode})`);
  return new URL(String(response.headers.location)).searchParams;
}

/** Starts an authorization through the API and returns the provider's redirect parameters. */
export async function startAndAuthorize(app: TestApp, key: string, query: Record<string, string> = {}, decision: 'approve' | 'deny' = 'approve'): Promise<{ oauthUrl: string; params: URLSearchParams }> {
  const res = await app.call('GET', `/elements/${key}/oauth/url?${new URLSearchParams(query)}`);
  assert.equal(res.status, 200, res.text);
  return { oauthUrl: res.body.oauthUrl, params: await authorize(res.body.oauthUrl, decision) };
}

/** Calls the hosted callback with the provider's parameters. */
export async function hostedCallback(app: TestApp, params: URLSearchParams) {
  return app.call('GET', `/oauth/callback?${params}`, { apiKey: null });
}

/**
 * A minimal OAuth client for the sandbox tests: form and JSON requests over undici, PKCE pairs, and a full
 * authorization-code dance (auto-approved per request) that returns the token response. Written against the wire
 * format on purpose, so the tests check what any client would see.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { Sandbox } from '../../src/sandbox/index.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => any;
}

export async function call(
  url: string,
  opts: { method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<Reply> {
  const res = await request(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    headersTimeout: opts.timeoutMs ?? 5000,
    bodyTimeout: opts.timeoutMs ?? 5000,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

export function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
}

export function postForm(url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
  return call(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params).toString() });
}

export function sendJson(url: string, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return call(url, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const REDIRECT = 'http://127.0.0.1:9/oauth/callback';

export function authorizeUrl(sb: Sandbox, params: Record<string, string>): string {
  return `${sb.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', redirect_uri: REDIRECT, ...params }).toString()}`;
}

/** Follow the authorization request (no redirects followed) and return the callback's query parameters. */
export async function authorizeRedirect(sb: Sandbox, params: Record<string, string>): Promise<URLSearchParams> {
  const res = await call(authorizeUrl(sb, params));
  if (res.status !== 302) throw new Error(`expected a redirect, got ${res.status}: ${res.text}`);
  return new URL(String(res.headers.location)).searchParams;
}

/** The whole authorization-code dance with PKCE for a confidential client; returns the token response. */
export async function connect(sb: Sandbox, clientId: string, secret: string | null, extra: Record<string, string> = {}): Promise<any> {
  const { verifier, challenge } = pkce();
  const q = await authorizeRedirect(sb, { client_id: clientId, state: 's1', code_challenge: challenge, code_challenge_method: 'S256', sandbox_auto: 'approve', ...extra });
  const code = q.get('code');
  if (!code) throw new Error(`no code: ${q.toString()}`);
  const params: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
  const res = secret === null ? await postForm(`${sb.url}/oauth/token`, { ...params, client_id: clientId }) : await postForm(`${sb.url}/oauth/token`, params, { authorization: basic(clientId, secret) });
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${res.text}`);
  return res.json();
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * Verification by token introspection (RFC 7662) against a local stand-in server: a revocation counts as verified
 * only when every token is reported `active: false`; any other answer (active, an error status, a body that is not
 * JSON, no `active` member, a refused plain-HTTP target) means "cannot tell". Client authentication follows the
 * connector (RFC 6749 §2.3.1 Basic with form-encoded credentials, or the body form).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { introspectionSaysInactive, type RevocationTarget } from '../../src/revocation/rfc7009.ts';

interface Seen {
  authorization: string | undefined;
  form: URLSearchParams;
}

let answer: (form: URLSearchParams) => { status: number; body: string } = () => ({ status: 200, body: '{"active":false}' });
const seen: Seen[] = [];

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = createServer((req, res) => {
  void readForm(req).then((form) => {
    seen.push({ authorization: req.headers.authorization, form });
    const { status, body } = answer(form);
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => server.close());
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function target(over: Partial<RevocationTarget> = {}): RevocationTarget {
  return { revocationUrl: `${origin}/revoke`, introspectionUrl: `${origin}/introspect`, clientAuthentication: 'client_secret_basic', allowInsecureRequests: true, allowPrivateTargets: true, ...over };
}
const tokens = { accessToken: 'access-token-1', refreshToken: 'refresh-token-1', clientId: 'client id:1', clientSecret: "s&cret+1!'()~" };
const options = { timeoutMs: 2_000 };

test('both tokens inactive: verified; Basic credentials are form-encoded first; refresh token asked first', async () => {
  seen.length = 0;
  answer = () => ({ status: 200, body: '{"active":false}' });
  assert.equal(await introspectionSaysInactive(target(), tokens, options), true);
  assert.deepEqual(seen.map((s) => [s.form.get('token'), s.form.get('token_type_hint')]), [['refresh-token-1', 'refresh_token'], ['access-token-1', 'access_token']]);
  const basic = Buffer.from((seen[0]?.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
  // Form encoding escapes `!'()~` too (encodeURIComponent alone would not), as flows' auth.clientBasicAuth does.
  assert.equal(basic, 'client+id%3A1:s%26cret%2B1%21%27%28%29%7E');
  assert.equal(seen[0]?.form.get('client_secret'), null);
});

test('client_secret_post sends the credentials in the body, not in a header', async () => {
  seen.length = 0;
  answer = () => ({ status: 200, body: '{"active":false}' });
  assert.equal(await introspectionSaysInactive(target({ clientAuthentication: 'client_secret_post' }), tokens, options), true);
  assert.equal(seen[0]?.authorization, undefined);
  assert.equal(seen[0]?.form.get('client_id'), 'client id:1');
  assert.equal(seen[0]?.form.get('client_secret'), "s&cret+1!'()~");
});

test('one token still active: not verified', async () => {
  answer = (form) => ({ status: 200, body: form.get('token_type_hint') === 'access_token' ? '{"active":true}' : '{"active":false}' });
  assert.equal(await introspectionSaysInactive(target(), tokens, options), false);
});

test('an error status is "cannot tell"', async () => {
  answer = () => ({ status: 503, body: '{"active":false}' });
  assert.equal(await introspectionSaysInactive(target(), tokens, options), false);
});

test('a body that is not JSON, or without a boolean active, is "cannot tell"', async () => {
  answer = () => ({ status: 200, body: 'inactive' });
  assert.equal(await introspectionSaysInactive(target(), tokens, options), false);
  answer = () => ({ status: 200, body: '{"active":"false"}' });
  assert.equal(await introspectionSaysInactive(target(), tokens, options), false);
});

test('a plain-HTTP endpoint without the connector opt-in is never called', async () => {
  seen.length = 0;
  answer = () => ({ status: 200, body: '{"active":false}' });
  assert.equal(await introspectionSaysInactive(target({ allowInsecureRequests: false }), tokens, options), false);
  assert.equal(seen.length, 0);
});

test('a private target without the connector opt-in is refused by the SSRF guard', async () => {
  seen.length = 0;
  assert.equal(await introspectionSaysInactive(target({ allowPrivateTargets: false }), tokens, options), false);
  assert.equal(seen.length, 0);
});

test('no introspection URL, or no token at all: cannot tell', async () => {
  assert.equal(await introspectionSaysInactive(target({ introspectionUrl: null }), tokens, options), false);
  assert.equal(await introspectionSaysInactive(target(), { ...tokens, accessToken: null, refreshToken: null }, options), false);
});

test('an unreachable endpoint is "cannot tell", within the time bound', async () => {
  const started = Date.now();
  assert.equal(await introspectionSaysInactive(target({ introspectionUrl: 'http://127.0.0.1:1/introspect' }), tokens, { timeoutMs: 1_000 }), false);
  assert.ok(Date.now() - started < 2_000);
});

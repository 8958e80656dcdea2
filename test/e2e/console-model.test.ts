/**
 * Unit tests of the console's pure modules (no browser): hash routing, display-side redaction, list-answer reading,
 * and how a connector definition is summarised (auth fields, revocation style). The browser journey lives in
 * `console.test.ts`; these pin the rules it relies on, negative cases first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { href, parseHash } from '../../web/src/router.ts';
import { REDACTED, isSecretKey, redact, redactText } from '../../web/src/redaction.ts';
import { authFields, configurationFields, describeSubject, matchesText, messageText, revocationLabel, revocationStyle, toPage } from '../../web/src/model.ts';
import type { Element } from '../../web/src/model.ts';

test('parseHash: an empty or bare hash is the root route', () => {
  assert.deepEqual(parseHash('').segments, []);
  assert.deepEqual(parseHash('#').segments, []);
  assert.deepEqual(parseHash('#/').segments, []);
});

test('parseHash: a malformed percent-encoding is kept as written instead of throwing', () => {
  assert.deepEqual(parseHash('#/connections/%E0%A4%A').segments, ['connections', '%E0%A4%A']);
});

test('parseHash: doubled slashes do not create empty segments', () => {
  assert.deepEqual(parseHash('#//connectors//box/').segments, ['connectors', 'box']);
});

test('href and parseHash round-trip segments with reserved characters and drop empty query values', () => {
  const link = href(['connections', 'a/b?c#d'], { status: 'active', element: '', externalUserId: undefined });
  assert.equal(link, '#/connections/a%2Fb%3Fc%23d?status=active');
  const route = parseHash(link);
  assert.deepEqual(route.segments, ['connections', 'a/b?c#d']);
  assert.equal(route.query.get('status'), 'active');
  assert.equal(route.query.has('element'), false);
});

test('redact: secret-looking keys are replaced at any depth, including inside arrays', () => {
  const value = {
    access_token: 'at-123',
    nested: { refreshToken: 'rt-456', list: [{ client_secret: 'cs' }, { Authorization: 'Bearer x' }] },
    statusCode: 200,
    tokenType: 'Bearer',
  };
  assert.deepEqual(redact(value), {
    access_token: REDACTED,
    nested: { refreshToken: REDACTED, list: [{ client_secret: REDACTED }, { Authorization: REDACTED }] },
    statusCode: 200,
    tokenType: 'Bearer',
  });
});

test('redact: null and empty secrets stay as they are (nothing to hide), and the input is not mutated', () => {
  const value = { password: '', apiKey: null, keep: 'x' };
  assert.deepEqual(redact(value), { password: '', apiKey: null, keep: 'x' });
  const secret = { password: 'p' };
  redact(secret);
  assert.equal(secret.password, 'p');
});

test('redact: a hostile, very deep value is cut off instead of recursing without bound', () => {
  let deep: Record<string, unknown> = { leaf: true };
  for (let index = 0; index < 200; index += 1) deep = { next: deep };
  const text = JSON.stringify(redact(deep));
  assert.match(text, /\[too deep\]/);
});

test('isSecretKey: names that merely contain "token" as a non-secret are not redacted', () => {
  assert.equal(isSecretKey('tokenType'), false);
  assert.equal(isSecretKey('token_type'), false);
  assert.equal(isSecretKey('expiresAt'), false);
  assert.equal(isSecretKey('unregisterURL'), false);
  assert.equal(isSecretKey('access_token'), true);
  assert.equal(isSecretKey('x-api-key'), true);
  assert.equal(isSecretKey('token'), true);
  assert.equal(isSecretKey('signingSecret'), true);
  assert.equal(isSecretKey('tokens'), false);
});

test('redactText: bearer, basic and Open Connectors credentials inside free text are hidden', () => {
  assert.equal(redactText('sent Authorization: Bearer abcdefghijkl123'), `sent Authorization: Bearer ${REDACTED}`);
  assert.equal(redactText('User abcdefgh1234, Organization zyxwvuts9876'), `User ${REDACTED}, Organization ${REDACTED}`);
  assert.equal(redactText('Basic dXNlcjpwYXNzd29yZA=='), `Basic ${REDACTED}`);
  assert.equal(redactText('a Bearer token was refused'), 'a Bearer token was refused');
});

test('toPage: plain arrays, { items, nextCursor } and resource-keyed answers are read; anything else is empty', () => {
  assert.deepEqual(toPage([1, 2]), { items: [1, 2], nextCursor: null });
  assert.deepEqual(toPage({ items: [1], nextCursor: 'c2' }), { items: [1], nextCursor: 'c2' });
  assert.deepEqual(toPage({ webhooks: [1] }, ['webhooks']), { items: [1], nextCursor: null });
  assert.deepEqual(toPage({ items: [1], nextCursor: '' }), { items: [1], nextCursor: null });
  assert.deepEqual(toPage(null), { items: [], nextCursor: null });
  assert.deepEqual(toPage('oops'), { items: [], nextCursor: null });
  assert.deepEqual(toPage({ items: 'not a list' }), { items: [], nextCursor: null });
});

function connector(overrides: Partial<Element>): Element {
  return { key: 'demo', name: 'Demo', ...overrides };
}

test('revocationStyle (detail): a revoke flow wins over a revocation URL', () => {
  const element = connector({
    authType: 'oauth2_authorization_code',
    definition: { auth: { type: 'oauth2_authorization_code', revocationUrl: 'https://p.example/revoke' }, flows: [{ name: '_revoke', kind: 'revoke', cards: [{ type: 'return' }] }] },
  });
  const style = revocationStyle(element);
  assert.deepEqual(style, { kind: 'flow', flowName: '_revoke', cards: 1 });
  assert.equal(revocationLabel(style), 'Custom _revoke flow');
});

test('revocationStyle (detail): a revocation URL without a revoke flow is RFC 7009 with its URL', () => {
  const style = revocationStyle(connector({ authType: 'oauth2_authorization_code', definition: { auth: { type: 'oauth2_authorization_code', revocationUrl: 'https://p.example/revoke' }, flows: [] } }));
  assert.deepEqual(style, { kind: 'rfc7009', url: 'https://p.example/revoke' });
});

test('revocationStyle (detail): an OAuth connector with neither flow nor URL is manual, not RFC 7009', () => {
  const style = revocationStyle(connector({ authType: 'oauth2_authorization_code', unregisterUrl: 'https://p.example/apps', definition: { auth: { type: 'oauth2_authorization_code' }, flows: [] } }));
  assert.deepEqual(style, { kind: 'manual', unregisterUrl: 'https://p.example/apps' });
});

test('revocationStyle (list): decided from flow flags and the catalogue style', () => {
  assert.equal(revocationStyle(connector({ authType: 'basic', flows: { names: ['_revoke'], revoke: true } })).kind, 'flow');
  assert.equal(revocationStyle(connector({ authType: 'oauth2_authorization_code', flows: { names: [], revoke: false }, revocation: { style: 'form_body', confirmed: true } })).kind, 'rfc7009');
  assert.equal(revocationStyle(connector({ authType: 'oauth2_authorization_code', flows: { names: [], revoke: false }, revocation: { style: 'none', confirmed: true } })).kind, 'manual');
  assert.deepEqual(revocationStyle(connector({ authType: 'custom', unregisterUrl: null })), { kind: 'manual', unregisterUrl: undefined });
});

test('authFields: OAuth connectors have no credential form; basic asks for username and a secret password', () => {
  assert.deepEqual(authFields(connector({ authType: 'oauth2_authorization_code' })), []);
  assert.deepEqual(authFields(connector({})), []);
  const basic = authFields(connector({ authType: 'basic' }));
  assert.deepEqual(basic.map((field) => [field.name, field.secret]), [['username', false], ['password', true]]);
});

test('authFields: a custom-field connector asks for its labelled API key, as a secret', () => {
  const [field] = authFields(connector({ authType: 'custom', definition: { auth: { type: 'custom', label: 'Personal access token', description: 'From settings' } } }));
  assert.equal(field.name, 'apiKey');
  assert.equal(field.label, 'Personal access token');
  assert.equal(field.secret, true);
  assert.equal(authFields(connector({ authType: 'custom' }))[0].label, 'API key');
});

test('configurationFields: malformed entries are skipped, declared ones kept in order', () => {
  const fields = configurationFields(connector({ configuration: [{ key: 'subdomain', label: 'Subdomain' }, null, { label: 'no key' }, 'x'] }));
  assert.deepEqual(fields.map((field) => field.key), ['subdomain']);
  assert.deepEqual(configurationFields(connector({ configuration: 'nope' })), []);
});

test('messageText: a plain string, an object and nothing are all readable', () => {
  assert.deepEqual(messageText('done'), { text: 'done' });
  assert.deepEqual(messageText({ text: 't', unregisterURL: 'https://u' }), { text: 't', unregisterURL: 'https://u' });
  assert.deepEqual(messageText({ text: 't', unregisterURL: null }), { text: 't' });
  assert.deepEqual(messageText({ text: '', unregisterURL: '' }), {});
  assert.deepEqual(messageText(''), {});
  assert.deepEqual(messageText(null), {});
  assert.deepEqual(messageText(undefined), {});
});

test('describeSubject: each erasure subject kind reads as text, a hashed external id included', () => {
  assert.equal(describeSubject({ kind: 'externalUserId', externalUserId: 'u-1' }), 'external user u-1');
  assert.equal(describeSubject({ kind: 'externalUserId', externalUserIdHash: 'ab12' }), 'external user (hashed ab12)');
  assert.equal(describeSubject({ kind: 'tag', tag: 'eu' }), 'tag eu');
  assert.equal(describeSubject({ kind: 'instanceIds', instanceIds: ['a', 'b'] }), '2 connection(s)');
  assert.equal(describeSubject({ kind: 'unknown' }), 'unknown');
});

test('matchesText: blank matches everything; otherwise name, key or description, ignoring case and padding', () => {
  const element = connector({ key: 'google-drive', name: 'Google Drive', description: 'Files in the cloud' });
  assert.equal(matchesText(element, ''), true);
  assert.equal(matchesText(element, '   '), true);
  assert.equal(matchesText(element, '  DRIVE '), true);
  assert.equal(matchesText(element, 'google-d'), true);
  assert.equal(matchesText(element, 'cloud'), true);
  assert.equal(matchesText(element, 'dropbox'), false);
  assert.equal(matchesText(connector({ key: 'x', name: 'X' }), 'files'), false);
});

/**
 * Unit tests of issued credentials (hashing, constant-time matching, parsing), master-key parsing and the secret
 * scrubber used by the logger and error bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hashSecret, issueCredential, parseCredential, secretMatches } from './secret-hash.ts';
import { parseMasterKeys } from './master-key.ts';
import { REDACTED, SecretScrubber, isSecretKey } from './redaction.ts';
import { isPlugboardError } from '../core/errors.ts';

test('an issued credential matches its hash and nothing else', () => {
  const c = issueCredential('pb');
  assert.ok(secretMatches(c.value, c.hash));
  assert.ok(!secretMatches(`${c.value}x`, c.hash));
  assert.ok(!secretMatches(c.value.slice(0, -1), c.hash));
  assert.ok(!secretMatches(c.value, hashSecret('other')));
  assert.ok(!secretMatches(c.value, 'not-hex'));
  assert.notEqual(c.hash, c.value);
});

test('credentials parse only with their own kind and exact shape', () => {
  const key = issueCredential('pb');
  assert.deepEqual(parseCredential(key.value, 'pb'), { lookup: key.lookup });
  assert.equal(parseCredential(key.value, 'pbu'), null);
  assert.equal(parseCredential(issueCredential('pbu').value, 'pb'), null);
  for (const bad of ['', 'pb_', 'pb_abc_def', `${key.value}=`, key.value.replace('pb_', 'PB_'), `pb_${key.lookup}_short`]) {
    assert.equal(parseCredential(bad, 'pb'), null, bad);
  }
});

test('master keys: one or several base64 keys of 32 bytes, standard or URL alphabet', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);
  const keys = parseMasterKeys(`${a.toString('base64')}, ${b.toString('base64url')}`, 'PLUGBOARD_MASTER_KEY');
  assert.equal(keys.length, 2);
  assert.deepEqual(keys[0].key, a);
  assert.deepEqual(keys[1].key, b);
});

test('master keys of the wrong size or alphabet are refused with a message naming the source and the fix', () => {
  for (const bad of ['', 'c2hvcnQ=', randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), '!!!!']) {
    assert.throws(() => parseMasterKeys(bad, 'PLUGBOARD_MASTER_KEY'), (e: unknown) => {
      assert.ok(isPlugboardError(e) && e.code === 'MASTER_KEY_MISSING');
      assert.match(e.message, /PLUGBOARD_MASTER_KEY/);
      assert.match(e.message, /openssl rand -base64 32/);
      return true;
    });
  }
});

test('secret-named fields are recognised whatever their case or separators', () => {
  for (const k of ['Authorization', 'client_secret', 'clientSecret', 'refresh-token', 'API_KEY', 'password', 'authorization_code']) assert.ok(isSecretKey(k), k);
  // Error codes stay readable in logs and provider messages.
  for (const k of ['name', 'status', 'expiresAt', 'scope', 'codeChallengeMethod', 'code']) assert.ok(!isSecretKey(k), k);
});

test('the scrubber removes remembered secrets and their URL-encoded form from text', () => {
  const s = new SecretScrubber();
  s.remember('tok/en+with=chars');
  assert.equal(s.scrub('a tok/en+with=chars b'), `a ${REDACTED} b`);
  assert.equal(s.scrub(`x=${encodeURIComponent('tok/en+with=chars')}`), `x=${REDACTED}`);
  assert.equal(s.scrub('nothing here'), 'nothing here');
});

test('the scrubber ignores short values and forgets the oldest beyond its bound, but never pinned ones', () => {
  const s = new SecretScrubber(2);
  s.remember('short');
  s.remember('pinned-secret-value', true);
  s.remember('first-secret-1');
  s.remember('second-secret-2');
  s.remember('third-secret-3');
  assert.equal(s.scrub('short'), 'short');
  assert.equal(s.scrub('first-secret-1'), 'first-secret-1');
  assert.equal(s.scrub('third-secret-3 pinned-secret-value'), `${REDACTED} ${REDACTED}`);
});

test('redact replaces secret-named fields at any depth and scrubs strings', () => {
  const s = new SecretScrubber();
  s.remember('leaked-token-value');
  const out = s.redact({ a: { client_secret: 'x', list: [{ Authorization: 'Bearer y' }], msg: 'saw leaked-token-value' }, empty: { password: '' } });
  assert.deepEqual(out, { a: { client_secret: REDACTED, list: [{ Authorization: REDACTED }], msg: `saw ${REDACTED}` }, empty: { password: '' } });
});

test('log lines keep error codes but lose secret fields and remembered values', async () => {
  const { createLogger } = await import('../log.ts');
  const lines: string[] = [];
  const scrubber = new SecretScrubber();
  scrubber.remember('remembered-provider-token');
  const log = createLogger({ level: 'info', scrubber, stream: { write: (line: string) => void lines.push(line) } });
  log.warn({ code: 'VAULT_DECRYPT_FAILED', req: { headers: { authorization: 'Bearer live-token-123' } }, client_secret: 'cs-1', body: { refresh_token: 'rt-1' } }, 'provider said remembered-provider-token');
  log.info({ req: { method: 'GET', url: '/oauth/callback?code=oauth-code-1&state=st-1&keep=yes' } }, 'callback');
  const text = lines.join('');
  for (const secret of ['live-token-123', 'cs-1', 'rt-1', 'remembered-provider-token', 'oauth-code-1', 'st-1']) assert.ok(!text.includes(secret), secret);
  assert.match(text, /"code":"VAULT_DECRYPT_FAILED"/);
  assert.match(text, /keep=yes/);
});

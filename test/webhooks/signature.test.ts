/**
 * Webhook signatures: a signed body verifies; a changed body, a wrong secret, a stale or future timestamp (replay), a
 * malformed or missing header all fail with their own reason; rotation (several secrets, several v1 entries) works.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  DEFAULT_TOLERANCE_SECONDS,
  generateSigningSecret,
  signWebhookPayload,
  verifyWebhookSignature,
} from '../../src/webhooks/signature.ts';

const secret = 'whsec_test-secret';
const body = JSON.stringify({ type: 'instance.invalidated', data: { instanceId: 'i1' } });
const t = 1_800_000_000;

test('the header is t=<unix>,v1=HMAC-SHA256(secret, "t.body") in hex', () => {
  const header = signWebhookPayload(secret, body, t);
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  assert.equal(header, `t=${t},v1=${expected}`);
});

test('a signed body verifies within the tolerance', () => {
  const header = signWebhookPayload(secret, body, t);
  assert.deepEqual(verifyWebhookSignature({ secret, body, header, now: t + 10 }), { ok: true, timestamp: t });
  assert.equal(verifyWebhookSignature({ secret, body: Buffer.from(body), header, now: t - 10 }).ok, true);
});

test('a changed body fails', () => {
  const header = signWebhookPayload(secret, body, t);
  const r = verifyWebhookSignature({ secret, body: body.replace('i1', 'i2'), header, now: t });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, 'signature_mismatch');
});

test('a wrong secret fails', () => {
  const header = signWebhookPayload(secret, body, t);
  const r = verifyWebhookSignature({ secret: 'whsec_other', body, header, now: t });
  assert.equal(!r.ok && r.reason, 'signature_mismatch');
});

test('a replayed (stale) or future-dated signature fails even though authentic', () => {
  const header = signWebhookPayload(secret, body, t);
  const stale = verifyWebhookSignature({ secret, body, header, now: t + DEFAULT_TOLERANCE_SECONDS + 1 });
  assert.equal(!stale.ok && stale.reason, 'timestamp_out_of_tolerance');
  const future = verifyWebhookSignature({ secret, body, header, now: t - DEFAULT_TOLERANCE_SECONDS - 1 });
  assert.equal(!future.ok && future.reason, 'timestamp_out_of_tolerance');
  assert.equal(verifyWebhookSignature({ secret, body, header, now: t + 50, toleranceSeconds: 30 }).ok, false);
});

test('a timestamp moved to a fresh value breaks the signature (it is bound into the MAC)', () => {
  const header = signWebhookPayload(secret, body, t).replace(`t=${t}`, `t=${t + 100}`);
  const r = verifyWebhookSignature({ secret, body, header, now: t + 100 });
  assert.equal(!r.ok && r.reason, 'signature_mismatch');
});

test('missing and malformed headers fail with their own reason', () => {
  assert.equal((verifyWebhookSignature({ secret, body, header: undefined }) as { reason: string }).reason, 'missing_header');
  assert.equal((verifyWebhookSignature({ secret, body, header: '' }) as { reason: string }).reason, 'missing_header');
  for (const header of ['garbage', 't=abc,v1=00', `t=${t}`, `v1=${'a'.repeat(64)}`, `t=${t},v1=${'z'.repeat(64)}`, `t=${t},t=${t},v1=${'a'.repeat(64)}`, `t=${t},v1=${'a'.repeat(63)}`]) {
    const r = verifyWebhookSignature({ secret, body, header, now: t });
    assert.equal(!r.ok && r.reason, 'malformed_header', header);
  }
});

test('rotation: any of several secrets or several v1 entries may match; unknown schemes are ignored', () => {
  const oldHeader = signWebhookPayload('whsec_old', body, t);
  assert.equal(verifyWebhookSignature({ secret: ['whsec_new', 'whsec_old'], body, header: oldHeader, now: t }).ok, true);
  const v1New = signWebhookPayload('whsec_new', body, t).split(',')[1];
  const both = `${oldHeader},${v1New},v2=future`;
  assert.equal(verifyWebhookSignature({ secret: 'whsec_new', body, header: both, now: t }).ok, true);
});

test('generated secrets are prefixed, long and distinct', () => {
  const a = generateSigningSecret();
  const b = generateSigningSecret();
  assert.match(a, /^whsec_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
});

test('a negative or fractional timestamp is refused when signing', () => {
  assert.throws(() => signWebhookPayload(secret, body, -1), RangeError);
  assert.throws(() => signWebhookPayload(secret, body, 1.5), RangeError);
});

/**
 * Retry timing: exponential backoff with equal jitter stays within [nominal/2, nominal] and under the cap, and
 * Retry-After values (delay-seconds or HTTP-date) parse per RFC 9110 §10.2.3; unreadable values are ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs, parseRetryAfter } from '../../src/jobs/index.ts';

test('backoff doubles per attempt, with jitter between half and the full nominal delay', () => {
  assert.equal(backoffDelayMs(1, { baseMs: 1000 }, () => 0), 500);
  assert.equal(backoffDelayMs(1, { baseMs: 1000 }, () => 1), 1000);
  assert.equal(backoffDelayMs(3, { baseMs: 1000 }, () => 1), 4000);
  assert.equal(backoffDelayMs(3, { baseMs: 1000 }, () => 0), 2000);
});

test('backoff never exceeds the cap, even for absurd attempt numbers', () => {
  assert.equal(backoffDelayMs(50, { baseMs: 1000, maxMs: 60_000 }, () => 1), 60_000);
  assert.equal(backoffDelayMs(10_000, { baseMs: 1000, maxMs: 60_000 }, () => 0.5), 45_000);
});

test('backoff treats attempt 0 or negative like the first attempt', () => {
  assert.equal(backoffDelayMs(0, { baseMs: 100 }, () => 1), 100);
  assert.equal(backoffDelayMs(-3, { baseMs: 100 }, () => 1), 100);
});

test('Retry-After in delay-seconds', () => {
  assert.equal(parseRetryAfter('120'), 120_000);
  assert.equal(parseRetryAfter(' 0 '), 0);
});

test('Retry-After as an HTTP-date, relative to now; a past date means now', () => {
  const now = Date.parse('Sat, 21 Nov 2026 06:00:00 GMT');
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 06:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 05:00:00 GMT', now), 0);
});

test('absent or unreadable Retry-After values are ignored', () => {
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter('-5'), undefined);
  assert.equal(parseRetryAfter('1.5'), undefined);
});

/**
 * Retry timing shared by both job backends, so a job retries on the same schedule on SQLite and on PostgreSQL.
 * Exponential backoff with "equal jitter": the delay before attempt n+1 is half of min(max, base * 2^(n-1)) plus a
 * random share of the other half, so a burst of failures (a provider outage) does not come back as a synchronised
 * burst, yet no retry comes sooner than half its nominal delay. A Retry-After from the provider wins over backoff.
 * @see RFC 9110 §10.2.3 (Retry-After)
 */
import { JOB_DEFAULTS, type BackoffOptions } from './types.ts';

/** The delay before the next attempt, after `attempt` (1-based) failed. */
export function backoffDelayMs(attempt: number, backoff: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = backoff.baseMs ?? JOB_DEFAULTS.backoffBaseMs;
  const max = backoff.maxMs ?? JOB_DEFAULTS.backoffMaxMs;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const nominal = Math.min(max, base * 2 ** exponent);
  const half = nominal / 2;
  return Math.round(half + half * random());
}

/**
 * Parses an HTTP Retry-After value (delay-seconds or an HTTP-date) into milliseconds from `now`; undefined when the
 * header is absent or unreadable. A date in the past means "now" (0).
 * @see RFC 9110 §10.2.3
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date always names a weekday and a month; this keeps numbers like "-5" from parsing as years.
  if (!/^[A-Za-z]{3},? /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * The shared page cursor: round trips, the `nextCursor` of a page, and every kind of foreign cursor refused as a 400
 * VALIDATION_FAILED naming `query.cursor` (unit level and through each list endpoint that takes one), never a 500.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCursor, decodeIdCursor, encodeCursor, encodeIdCursor, nextCursorOf } from '../../src/store/cursor.ts';
import { isPlugboardError } from '../../src/core/errors.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { BACKENDS } from '../support/database.ts';

function assertForeignCursor(cursor: string, decode: (cursor: string) => unknown = decodeCursor): void {
  assert.throws(() => decode(cursor), (error: unknown) => {
    assert.ok(isPlugboardError(error), `a PlugboardError for ${JSON.stringify(cursor)}`);
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual(error.details?.map((d) => d.path), ['query.cursor']);
    return true;
  });
}

const b64 = (text: string): string => Buffer.from(text).toString('base64url');

describe('cursor helper', () => {
  test('encode then decode gives the position back, for any text', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40 }), (time, id) => {
      assert.deepEqual(decodeCursor(encodeCursor(time, id)), { time, id });
    }));
    const cursor = encodeCursor('2026-01-02T03:04:05.678Z', 'inst_01');
    assert.match(cursor, /^[A-Za-z0-9_-]+$/, 'URL-safe without escaping');
  });

  test('malformed cursors are VALIDATION_FAILED naming query.cursor', () => {
    const cases = [
      '',
      '!!!',
      'not base64 at all with spaces',
      b64('not json'),
      b64('{}'),
      b64('null'),
      b64('"2026-01-01T00:00:00Z"'),
      b64('["2026-01-01T00:00:00Z"]'),
      b64('["2026-01-01T00:00:00Z","a","b"]'),
      b64('["2026-01-01T00:00:00Z",7]'),
      b64('[1,"inst_1"]'),
      b64('["","inst_1"]'),
      b64('["2026-01-01T00:00:00Z",""]'),
      b64('[{"$gt":""},"inst_1"]'),
      `${encodeCursor('2026-01-01T00:00:00Z', 'x')}=`,
      encodeCursor('2026-01-01T00:00:00Z', 'x'.repeat(600)),
    ];
    for (const cursor of cases) assertForeignCursor(cursor);
  });

  test('id cursors round trip, and a (time, id) cursor or anything else is foreign to them', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 60 }), (id) => assert.equal(decodeIdCursor(encodeIdCursor(id)), id)));
    for (const cursor of [encodeCursor('2026-01-01T00:00:00Z', 'a'), '', 'zz!', b64('[]'), b64('[""]'), b64('[7]'), b64('"a"')]) assertForeignCursor(cursor, decodeIdCursor);
    assertForeignCursor(encodeIdCursor('a'), decodeCursor);
  });

  test('arbitrary input never throws anything but VALIDATION_FAILED', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (cursor) => {
      try {
        decodeCursor(cursor);
      } catch (error) {
        assert.ok(isPlugboardError(error) && error.code === 'VALIDATION_FAILED', String(error));
      }
    }));
  });

  test('nextCursorOf points at the last row of a full page, and is null otherwise', () => {
    const rows = [{ at: 't3', id: 'c' }, { at: 't2', id: 'b' }, { at: 't1', id: 'a' }];
    const position = (row: { at: string; id: string }) => ({ time: row.at, id: row.id });
    assert.deepEqual(decodeCursor(nextCursorOf(rows, 2, position) ?? ''), { time: 't2', id: 'b' });
    assert.equal(nextCursorOf(rows, 3, position), null, 'no extra row: last page');
    assert.equal(nextCursorOf(rows.slice(0, 1), 2, position), null);
    assert.equal(nextCursorOf([], 1, position), null);
    assert.equal(nextCursorOf(rows, 0, position), null, 'a zero limit never yields a cursor');
  });
});

for (const backend of BACKENDS) describe(`list endpoints with a foreign cursor (${backend})`, () => {
  let app: TestApp;
  let webhookId: string;
  before(async () => {
    app = await startTestApp({ backend });
    const hook = await app.call('POST', '/webhooks', { body: { url: 'https://receiver.example.com/h', events: ['*'] } });
    assert.equal(hook.status, 201);
    webhookId = hook.body.id;
  });
  after(async () => {
    await app?.close();
  });

  test('every list answers 400 VALIDATION_FAILED naming query.cursor, never a 500', async () => {
    const foreign = [b64('["2026-01-01T00:00:00Z"]'), 'garbage', b64('[1,2]'), b64('{"a":1}')];
    for (const path of ['/instances', '/executions', '/events', `/webhooks/${webhookId}/deliveries`]) {
      for (const cursor of foreign) {
        const res = await app.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`);
        assert.equal(res.status, 400, `${path} ${cursor}: ${res.text}`);
        assert.equal(res.body.code, 'VALIDATION_FAILED');
        assert.ok(res.body.details.some((d: { path: string }) => d.path === 'query.cursor'), `${path}: ${JSON.stringify(res.body.details)}`);
      }
      const valid = await app.call('GET', `${path}?cursor=${encodeCursor('2026-01-01T00:00:00.000Z', 'zzz')}`);
      assert.equal(valid.status, 200, `${path} accepts a well-formed cursor: ${valid.text}`);
    }
  });

  test('erasure lists and receipts refuse foreign cursors the same way', async () => {
    const erasure = await app.call('POST', '/erasure-requests', { body: { externalUserId: 'nobody-at-all' } });
    assert.equal(erasure.status, 202, erasure.text);
    const cases: Array<[string, string, string]> = [
      ['/erasure-requests', encodeIdCursor('x'), encodeCursor('2026-01-01T00:00:00.000Z', 'zzz')],
      [`/erasure-requests/${erasure.body.id}`, encodeCursor('2026-01-01T00:00:00.000Z', 'zzz'), encodeIdCursor('zzz')],
    ];
    for (const [path, foreign, valid] of cases) {
      for (const cursor of [foreign, 'garbage', b64('{"a":1}')]) {
        const res = await app.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`);
        assert.equal(res.status, 400, `${path} ${cursor}: ${res.text}`);
        assert.equal(res.body.code, 'VALIDATION_FAILED');
        assert.ok(res.body.details.some((d: { path: string }) => d.path === 'query.cursor'), `${path}: ${JSON.stringify(res.body.details)}`);
      }
      const ok = await app.call('GET', `${path}?cursor=${valid}`);
      assert.equal(ok.status, 200, `${path}: ${ok.text}`);
    }
  });
});

/**
 * Webhooks end to end on a real app (SQLite, and PostgreSQL with pg-boss when configured): create (secret shown once), list without secrets, validation errors,
 * outbox delivery of a recorded event with a verifiable signature, retries honouring Retry-After, the delivery log,
 * the test endpoint, deletion, tenant isolation, and the events API filters and pagination. Receivers listen on
 * loopback, which the test app allows through the explicit webhook opt-in.
 */

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.ts';
import { BACKENDS } from '../support/database.ts';
import { recordEvent } from '../../src/store/events.ts';
import { KNOWN_EVENT_TYPES } from '../../src/core/events.ts';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function receiver(answer: (index: number) => { status: number; headers?: Record<string, string> }) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      const a = answer(received.length - 1);
      res.writeHead(a.status, a.headers ?? {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const backend of BACKENDS) describe(`webhooks and events (${backend})`, () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ backend, config: { webhooks: { allowPrivateTargets: true } } });
  });

  after(async () => {
    await app.close();
  });

  test('creating a webhook returns the signing secret once; listing never shows it', async () => {
    const created = await app.call('POST', '/webhooks', { body: { url: 'https://receiver.example.com/hooks', events: ['instance.invalidated', 'instance.revoked'] } });
    assert.equal(created.status, 201);
    assert.match(created.body.signingSecret, /^whsec_/);
    assert.deepEqual(created.body.events, ['instance.invalidated', 'instance.revoked']);
    const list = await app.call('GET', '/webhooks');
    assert.equal(list.status, 200);
    const listed = list.body.webhooks.find((w: { id: string }) => w.id === created.body.id);
    assert.ok(listed);
    assert.equal(listed.signingSecret, undefined);
    assert.doesNotMatch(list.text, /whsec_/);
    const stored = await app.ctx.store.db.selectFrom('webhooks' as never).selectAll().execute();
    assert.doesNotMatch(JSON.stringify(stored), new RegExp(created.body.signingSecret));
    assert.ok(!app.logs.some((l) => l.includes(created.body.signingSecret)), 'the signing secret must not be logged');
    assert.equal((await app.call('DELETE', `/webhooks/${created.body.id}`)).status, 204);
  });

  test('bad webhook input is a 400 that names the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ url: 'not a url', events: ['*'] }, 'body.url'],
      [{ url: 'https://ok.example.com', events: [] }, 'body.events'],
      [{ url: 'https://ok.example.com', events: ['instance.invalidatd!'] }, 'body.events.0'],
      [{ url: 'https://ok.example.com', events: ['*'], extra: 1 }, 'body.extra'],
      [{ url: 'ftp://ok.example.com', events: ['*'] }, 'body.url'],
      [{ url: 'https://169.254.169.254/latest', events: ['*'] }, 'body.url'],
    ];
    for (const [body, path] of cases) {
      const res = await app.call('POST', '/webhooks', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      assert.ok(res.body.details.some((d: { path: string }) => d.path.startsWith(path)), `${JSON.stringify(res.body.details)} should name ${path}`);
    }
  });

  test('an unknown event type is refused naming the field and listing the known types; known ones and "*" pass', async () => {
    for (const unknown of ['instance.token.refreshed', 'instance.refreshd', 'webhook.test', 'INSTANCE.CREATED', '**']) {
      const res = await app.call('POST', '/webhooks', { body: { url: 'https://ok.example.com/h', events: ['instance.revoked', unknown] } });
      assert.equal(res.status, 400, unknown);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      const detail = res.body.details.find((d: { path: string }) => d.path === 'body.events.1');
      assert.ok(detail !== undefined, `${JSON.stringify(res.body.details)} should name body.events.1`);
      assert.match(detail.message, /unknown event type/);
      for (const known of KNOWN_EVENT_TYPES) assert.ok(detail.message.includes(known), `the message lists ${known}`);
    }
    const all = await app.call('POST', '/webhooks', { body: { url: 'https://ok.example.com/all', events: [...KNOWN_EVENT_TYPES] } });
    assert.equal(all.status, 201);
    assert.deepEqual(all.body.events, [...KNOWN_EVENT_TYPES].sort());
    const wildcard = await app.call('POST', '/webhooks', { body: { url: 'https://ok.example.com/any', events: ['*'] } });
    assert.equal(wildcard.status, 201);
    for (const id of [all.body.id, wildcard.body.id]) assert.equal((await app.call('DELETE', `/webhooks/${id}`)).status, 204);
  });

  test('an event in the outbox is delivered once, signed, to subscribed webhooks only', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    const other = await receiver(() => ({ status: 204 }));
    try {
      const hook = await app.call('POST', '/webhooks', { body: { url: rx.url, events: ['instance.invalidated'] } });
      const unrelated = await app.call('POST', '/webhooks', { body: { url: other.url, events: ['erasure.completed'] } });
      const event = await recordEvent(app.ctx.store.db, app.admin.organizationId, { type: 'instance.invalidated', instanceId: 'inst_1', data: { reason: 'provider said 401' } });
      const delivered = await until('a delivery', () => rx.received[0]);
      const verdict = verifyWebhookSignature({ secret: hook.body.signingSecret, body: delivered.body, header: delivered.headers['plugboard-signature'] as string });
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      const payload = JSON.parse(delivered.body);
      assert.equal(payload.id, event.id);
      assert.equal(payload.type, 'instance.invalidated');
      assert.equal(payload.instanceId, 'inst_1');
      assert.deepEqual(payload.data, { reason: 'provider said 401' });
      assert.equal(delivered.headers['plugboard-event-id'], event.id);
      assert.equal(delivered.headers['content-type'], 'application/json');
      // A forged body with the real header fails verification.
      assert.equal(verifyWebhookSignature({ secret: hook.body.signingSecret, body: delivered.body.replace('inst_1', 'inst_2'), header: delivered.headers['plugboard-signature'] as string }).ok, false);
      const log = await until('a succeeded delivery row', async () => {
        const res = await app.call('GET', `/webhooks/${hook.body.id}/deliveries`);
        return res.body.deliveries[0]?.status === 'succeeded' ? res.body.deliveries : undefined;
      });
      assert.equal(log.length, 1);
      assert.equal(log[0].attempts, 1);
      assert.equal(log[0].lastStatusCode, 204);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(rx.received.length, 1, 'delivered exactly once');
      assert.equal(other.received.length, 0, 'a webhook not subscribed to the type hears nothing');
      await app.call('DELETE', `/webhooks/${hook.body.id}`);
      await app.call('DELETE', `/webhooks/${unrelated.body.id}`);
    } finally {
      await rx.close();
      await other.close();
    }
  });

  test('a failing receiver is retried (honouring Retry-After) until it accepts; each attempt is logged', async () => {
    const rx = await receiver((i) => (i < 2 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200 }));
    try {
      const hook = await app.call('POST', '/webhooks', { body: { url: rx.url, events: ['*'] } });
      const test1 = await app.call('POST', `/webhooks/${hook.body.id}/test`);
      assert.equal(test1.status, 202);
      const row = await until('the delivery to succeed', async () => {
        const res = await app.call('GET', `/webhooks/${hook.body.id}/deliveries`);
        const d = res.body.deliveries.find((x: { id: string }) => x.id === test1.body.deliveryId);
        return d?.status === 'succeeded' ? d : undefined;
      });
      assert.equal(row.attempts, 3);
      assert.equal(row.eventType, 'webhook.test');
      assert.equal(rx.received.length, 3);
      assert.deepEqual(rx.received.map((r) => r.headers['plugboard-attempt']), ['1', '2', '3']);
      // Every attempt is signed afresh with a current timestamp and verifies.
      for (const r of rx.received) assert.equal(verifyWebhookSignature({ secret: hook.body.signingSecret, body: r.body, header: r.headers['plugboard-signature'] as string }).ok, true);
      await app.call('DELETE', `/webhooks/${hook.body.id}`);
    } finally {
      await rx.close();
    }
  });

  test('a receiver answering 410 Gone stops the retries at once', async () => {
    const rx = await receiver(() => ({ status: 410 }));
    try {
      const hook = await app.call('POST', '/webhooks', { body: { url: rx.url, events: ['*'] } });
      const sent = await app.call('POST', `/webhooks/${hook.body.id}/test`);
      const row = await until('the delivery to fail', async () => {
        const res = await app.call('GET', `/webhooks/${hook.body.id}/deliveries`);
        const d = res.body.deliveries.find((x: { id: string }) => x.id === sent.body.deliveryId);
        return d?.status === 'failed' ? d : undefined;
      });
      assert.equal(row.attempts, 1);
      assert.equal(row.lastStatusCode, 410);
      assert.match(row.lastError, /410/);
    } finally {
      await rx.close();
    }
  });

  test('webhooks of another organization are invisible (404), unknown ids are 404', async () => {
    const hook = await app.call('POST', '/webhooks', { body: { url: 'https://receiver.example.com/x', events: ['*'] } });
    for (const [method, path] of [['DELETE', '/webhooks/nope'], ['POST', '/webhooks/nope/test'], ['GET', '/webhooks/nope/deliveries']] as const) {
      const res = await app.call(method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.code, 'NOT_FOUND');
    }
    const org = await app.call('POST', '/organizations', { body: { name: 'Other org' } });
    assert.equal(org.status, 201);
    const otherKey: string = org.body.apiKey.secret;
    const theirs = await app.call('GET', '/webhooks', { apiKey: otherKey });
    assert.equal(theirs.status, 200);
    assert.equal(theirs.body.webhooks.length, 0);
    for (const [method, path] of [['DELETE', `/webhooks/${hook.body.id}`], ['POST', `/webhooks/${hook.body.id}/test`], ['GET', `/webhooks/${hook.body.id}/deliveries`]] as const) {
      assert.equal((await app.call(method, path, { apiKey: otherKey })).status, 404, `${method} ${path} from another organization`);
    }
    assert.equal((await app.call('GET', '/events', { apiKey: otherKey })).body.events.length, 0, 'events of another organization are not listed');
    await app.call('DELETE', `/webhooks/${hook.body.id}`);
  });

  test('GET /events filters by instance, type and time, and pages with a cursor', async () => {
    const db = app.ctx.store.db;
    const orgId = app.admin.organizationId;
    const base = Date.parse('2030-01-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await recordEvent(db, orgId, { type: i % 2 === 0 ? 'instance.invalidated' : 'instance.enabled', instanceId: i < 3 ? 'inst_a' : 'inst_b', occurredAt: new Date(base + i * 1000).toISOString(), data: { n: i } });
    }
    const byInstance = await app.call('GET', '/events?instanceId=inst_b');
    assert.deepEqual(byInstance.body.events.map((e: { data: { n: number } }) => e.data.n), [4, 3]);
    const byType = await app.call('GET', '/events?instanceId=inst_a&type=instance.enabled');
    assert.deepEqual(byType.body.events.map((e: { data: { n: number } }) => e.data.n), [1]);
    const byTime = await app.call('GET', `/events?from=${encodeURIComponent(new Date(base + 1000).toISOString())}&to=${encodeURIComponent(new Date(base + 3000).toISOString())}`);
    assert.deepEqual(byTime.body.events.map((e: { data: { n: number } }) => e.data.n), [2, 1]);
    const first = await app.call('GET', `/events?limit=2&from=${encodeURIComponent(new Date(base).toISOString())}`);
    assert.deepEqual(first.body.events.map((e: { data: { n: number } }) => e.data.n), [4, 3]);
    const second = await app.call('GET', `/events?limit=2&from=${encodeURIComponent(new Date(base).toISOString())}&cursor=${first.body.nextCursor}`);
    assert.deepEqual(second.body.events.map((e: { data: { n: number } }) => e.data.n), [2, 1]);
    const third = await app.call('GET', `/events?limit=2&from=${encodeURIComponent(new Date(base).toISOString())}&cursor=${second.body.nextCursor}`);
    assert.deepEqual(third.body.events.map((e: { data: { n: number } }) => e.data.n), [0]);
    assert.equal(third.body.nextCursor, null);
  });

  test('GET /events rejects bad filters with a 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['/events?from=yesterday', 'query.from'],
      ['/events?limit=0', 'query.limit'],
      ['/events?limit=abc', 'query.limit'],
      ['/events?type=Instance%20Created', 'query.type'],
      ['/events?cursor=garbage', 'query.cursor'],
      ['/events?unknown=1', 'query.unknown'],
    ];
    for (const [path, where] of cases) {
      const res = await app.call('GET', path);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.code, 'VALIDATION_FAILED', path);
      assert.ok(res.body.details.some((d: { path: string }) => d.path.startsWith(where)), `${path}: ${JSON.stringify(res.body.details)}`);
    }
    assert.equal((await app.call('GET', '/events', { apiKey: null })).status, 401);
  });
});

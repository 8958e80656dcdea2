/**
 * One delivery attempt at a time (`deliverOnce`), as the job queue runs it: a failure without Retry-After asks for
 * an exponential backoff delay and logs the attempt as pending; the last attempt fails for good; a transport error is
 * logged without a body; a receiver that became forbidden stops at once; an already delivered or deleted delivery is a
 * no-op (at-least-once jobs may run twice).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.ts';
import { JobFatalError, JobRetryError } from '../../src/jobs/types.ts';
import { DEFAULT_DELIVERY_SETTINGS, deliverOnce, type DeliverySettings } from '../../src/webhooks/delivery.ts';
import { createWebhook, getDeliveryRow, insertDeliveries, webhookDb } from '../../src/webhooks/store.ts';

let app: TestApp;
let server: http.Server;
let url: string;
let status = 500;
let hits = 0;

const settings: DeliverySettings = { ...DEFAULT_DELIVERY_SETTINGS, policy: { allowPrivateTargets: true }, backoffBaseMs: 1000, backoffMaxMs: 60_000 };
const job = (attempt: number, last = false) => ({ attempt, isLastAttempt: last, signal: new AbortController().signal });

before(async () => {
  app = await startTestApp();
  server = http.createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end('receiver body that must not be stored'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await app.close();
});

async function newDelivery(target = url): Promise<{ orgId: string; deliveryId: string }> {
  const orgId = app.admin.organizationId;
  const db = webhookDb(app.ctx.store.db);
  const { webhook } = await createWebhook(db, app.ctx.vault, orgId, { url: target, eventTypes: ['*'] });
  const [deliveryId] = await insertDeliveries(db, orgId, [{ webhookId: webhook.id, eventId: `evt_${hits}_${Math.random()}`, eventType: 'instance.invalidated', payload: '{"type":"instance.invalidated"}' }]);
  return { orgId, deliveryId };
}

test('a refused attempt asks for a backoff delay and stays pending; the last attempt fails for good', async () => {
  status = 500;
  const data = await newDelivery();
  await assert.rejects(deliverOnce(app.ctx, settings, data, job(1)), (err: unknown) => err instanceof JobRetryError && err.delayMs !== undefined && err.delayMs >= 500 && err.delayMs <= 1000);
  await assert.rejects(deliverOnce(app.ctx, settings, data, job(3)), (err: unknown) => err instanceof JobRetryError && err.delayMs !== undefined && err.delayMs >= 2000 && err.delayMs <= 4000);
  let row = await getDeliveryRow(webhookDb(app.ctx.store.db), data.orgId, data.deliveryId);
  assert.equal(row?.status, 'pending');
  assert.equal(row?.attempts, 2);
  assert.equal(row?.last_status_code, 500);
  assert.ok(row?.next_attempt_at !== null);
  assert.doesNotMatch(String(row?.last_error), /receiver body/);
  await assert.rejects(deliverOnce(app.ctx, settings, data, job(8, true)), JobFatalError);
  row = await getDeliveryRow(webhookDb(app.ctx.store.db), data.orgId, data.deliveryId);
  assert.equal(row?.status, 'failed');
  assert.equal(row?.next_attempt_at, null);
});

test('a delivered delivery is not sent again when its job runs twice', async () => {
  status = 200;
  const data = await newDelivery();
  const before = hits;
  await deliverOnce(app.ctx, settings, data, job(1));
  await deliverOnce(app.ctx, settings, data, job(2));
  assert.equal(hits - before, 1);
  const row = await getDeliveryRow(webhookDb(app.ctx.store.db), data.orgId, data.deliveryId);
  assert.equal(row?.status, 'succeeded');
  assert.equal(row?.attempts, 1);
});

test('an unreachable receiver is retried with the transport error logged', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const data = await newDelivery(`http://127.0.0.1:${port}/gone`);
  await assert.rejects(deliverOnce(app.ctx, settings, data, job(1)), JobRetryError);
  const row = await getDeliveryRow(webhookDb(app.ctx.store.db), data.orgId, data.deliveryId);
  assert.equal(row?.last_status_code, null);
  assert.match(String(row?.last_error), /PROVIDER_UNREACHABLE/);
});

test('a receiver the policy forbids stops at once without a request', async () => {
  const data = await newDelivery(url);
  const before = hits;
  await assert.rejects(deliverOnce(app.ctx, { ...settings, policy: { allowPrivateTargets: false } }, data, job(1)), JobFatalError);
  assert.equal(hits, before);
  const row = await getDeliveryRow(webhookDb(app.ctx.store.db), data.orgId, data.deliveryId);
  assert.equal(row?.status, 'failed');
  assert.match(String(row?.last_error), /TARGET_FORBIDDEN/);
});

test('a delivery whose webhook was deleted is a no-op', async () => {
  const data = await newDelivery();
  const row = await getDeliveryRow(webhookDb(app.ctx.store.db), data.orgId, data.deliveryId);
  await webhookDb(app.ctx.store.db).deleteFrom('webhooks').where('id', '=', row?.webhook_id as string).execute();
  const before = hits;
  await deliverOnce(app.ctx, settings, data, job(1));
  assert.equal(hits, before);
});

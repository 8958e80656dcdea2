/**
 * Process-level behaviour: the built console served at `/` with an SPA fallback that never hides the API, and
 * graceful shutdown (services stopped within the bound, no new requests, store closed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp } from '../test/support/app.ts';
import { tempDir } from '../test/support/database.ts';
import { ServiceRegistry } from './context.ts';

test('the console is served at / with an SPA fallback, and API answers stay JSON', async () => {
  const webDir = path.join(tempDir(), 'dist');
  mkdirSync(path.join(webDir, 'assets'), { recursive: true });
  writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Plugboard console</title>');
  writeFileSync(path.join(webDir, 'assets', 'app.js'), 'console.log(1)');
  const app = await startTestApp({ config: { webDir } });
  try {
    const html = { accept: 'text/html,application/xhtml+xml' };
    const root = await app.call('GET', '/', { apiKey: null, headers: html });
    assert.equal(root.status, 200);
    assert.match(root.text, /Plugboard console/);
    assert.equal((await app.call('GET', '/assets/app.js', { apiKey: null })).text, 'console.log(1)');
    assert.match((await app.call('GET', '/connections/abc', { apiKey: null, headers: html })).text, /Plugboard console/);
    // A browser reload of a console path that is also an API path gets the console, not a 401.
    const reload = await app.call('GET', '/api-keys', { apiKey: null, headers: { ...html, 'sec-fetch-mode': 'navigate' } });
    assert.match(reload.text, /Plugboard console/);
    // Programmatic calls still get the API.
    assert.equal((await app.call('GET', '/api-keys', { apiKey: null })).status, 401);
    assert.equal((await app.call('GET', '/api-keys')).status, 200);
    const missing = await app.call('GET', '/no-such-api', { apiKey: null, headers: { accept: 'application/json' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'ROUTE_NOT_FOUND');
  } finally {
    await app.close();
  }
});

test('without a built console, / is a JSON 404 (the server does not build it)', async () => {
  const app = await startTestApp();
  try {
    const res = await app.call('GET', '/', { apiKey: null, headers: { accept: 'text/html' } });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ROUTE_NOT_FOUND');
  } finally {
    await app.close();
  }
});

test('close() stops accepting requests, stops services and closes the store, once', async () => {
  const app = await startTestApp();
  const url = app.url;
  await Promise.all([app.close(), app.close()]);
  await assert.rejects(fetchHealth(url));
  await assert.rejects(app.ctx.store.ping());
  assert.equal(app.ctx.shuttingDown, true);
});

async function fetchHealth(url: string): Promise<void> {
  const { request } = await import('undici');
  const res = await request(`${url}/health`, { headersTimeout: 2000 });
  await res.body.dump();
}

test('services stop in reverse order, each bounded; one that overruns is reported, the rest still stop', async () => {
  const registry = new ServiceRegistry();
  const events: string[] = [];
  registry.add({ name: 'first', start: () => void events.push('start first'), stop: () => void events.push('stop first') });
  registry.add({ name: 'stuck', start: () => void events.push('start stuck'), stop: () => new Promise(() => {}) });
  registry.add({ name: 'failing', stop: () => { throw new Error('boom'); } });
  await registry.startAll();
  const started = Date.now();
  const overran = await registry.stopAll(150);
  assert.ok(Date.now() - started < 1000, 'the bound holds');
  assert.deepEqual(overran, ['stuck']);
  assert.deepEqual(events, ['start first', 'start stuck', 'stop first']);
  assert.throws(() => registry.add({ name: 'first' }), /already registered/);
});

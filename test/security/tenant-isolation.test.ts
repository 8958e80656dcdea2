/**
 * Tenant isolation across every route. The routes are discovered from the running server, so a route added later is
 * covered without touching this file. Organization A gets data through the API: API keys, a private connector,
 * connections, a webhook, a flow execution, a revocation outcome (a deleted connection) and a finished erasure
 * request; then organization B's admin calls every route that takes an id
 * with each of A's ids. B must get 404 (or a 400 for an id of the wrong shape or a body it did not fill in), never
 * 403 and never 2xx; list routes must not show A's ids, and none of A's rows may change.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../support/app.ts';
import { rowsOfOrganization } from '../support/tables.ts';

let app: TestApp;
let orgA: { id: string; apiKey: string };
let orgB: { id: string; apiKey: string };
const seeded: string[] = [];

async function newOrganization(name: string): Promise<{ id: string; apiKey: string }> {
  const res = await app.call('POST', '/organizations', { body: { name } });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.organization.id, apiKey: res.body.apiKey.secret };
}

before(async () => {
  app = await startTestApp();
  orgA = await newOrganization('Tenant A');
  orgB = await newOrganization('Tenant B');
  for (const name of ['a-reader', 'a-writer']) {
    const key = await app.call('POST', '/api-keys', { apiKey: orgA.apiKey, body: { name } });
    assert.equal(key.status, 201);
  }
  // Data of other areas, created through their public API as A would. Each step is best effort: the test then covers
  // whatever rows exist, and the assertion below lists what was seeded.
  const seeds: Array<[string, string, unknown]> = [
    ['POST', '/elements', {
      key: 'tenant-a-private', name: 'Tenant A private', baseUrl: 'https://api.example.com', auth: { type: 'custom', label: 'API key', apply: { in: 'header', name: 'X-Api-Key' } },
      flows: [{ name: 'echo', kind: 'action', saveData: true, inputs: { n: 'number' }, outputs: { x: 'any' }, cards: [{ type: 'return', values: { x: { $ref: 'input.n' } } }] }],
    }],
    ['POST', '/instances', { element: { key: 'tenant-a-private' }, name: 'A connection', credentials: { apiKey: 'tenant-a-api-key-0123456789' } }],
    ['POST', '/webhooks', { url: 'https://receiver.example.com/hook', events: ['instance.created'] }],
  ];
  for (const [method, url, body] of seeds) {
    const res = await app.call(method, url, { apiKey: orgA.apiKey, body });
    seeded.push(`${method} ${url} -> ${res.status}`);
  }
  await seedLifecycle();
});

/**
 * Rows that only exist once A has used Plugboard: a flow execution, a revocation outcome (a deleted connection) and a
 * finished erasure request. These must exist, so each step is asserted; the background work they start is awaited so
 * the "nothing changed" comparison below sees settled rows.
 */
async function seedLifecycle(): Promise<void> {
  const asA = { apiKey: orgA.apiKey };
  const connect = async (name: string, externalUserId?: string): Promise<string> => {
    const res = await app.call('POST', '/instances', { ...asA, body: { element: { key: 'tenant-a-private' }, name, credentials: { apiKey: `tenant-a-${name.replaceAll(' ', '-')}-0123456789` }, ...(externalUserId === undefined ? {} : { externalUserId }) } });
    assert.ok(res.status === 200 || res.status === 201, res.text);
    return res.body.id as string;
  };
  const running = await connect('flow runner');
  const run = await app.call('POST', `/instances/${running}/flows/echo/run`, { ...asA, body: { inputs: { n: 7 } } });
  assert.equal(run.status, 200, run.text);
  assert.equal((await app.call('GET', `/executions/${run.body.executionId}`, asA)).status, 200, 'A owns an execution');

  const deleted = await app.call('DELETE', `/instances/${await connect('deleted')}`, asA);
  assert.ok(deleted.status >= 200 && deleted.status < 300, deleted.text);

  await connect('erased', 'tenant-a-person');
  const erasure = await app.call('POST', '/erasure-requests', { ...asA, body: { externalUserId: 'tenant-a-person' } });
  assert.equal(erasure.status, 202, erasure.text);
  const until = Date.now() + 15_000;
  for (;;) {
    const state = await app.call('GET', `/erasure-requests/${erasure.body.id}`, asA);
    const revocations = await app.ctx.store.db.selectFrom('revocations').select('status').where('org_id', '=', orgA.id).execute();
    if (String(state.body.status).startsWith('completed') && revocations.length >= 2 && revocations.every((r) => r.status !== 'pending')) break;
    assert.ok(Date.now() < until, `A's erasure request and revocations did not settle: ${state.text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
after(async () => {
  await app.close();
});

/** Ids and keys of A's rows: the values an attacker in B would try. */
function candidateIds(rows: Record<string, Array<Record<string, unknown>>>): string[] {
  const ids = new Set<string>();
  for (const list of Object.values(rows)) {
    for (const row of list) {
      for (const column of ['id', 'key', 'element_key', 'connector_key']) {
        const value = row[column];
        if (typeof value === 'string' && value !== '') ids.add(value);
      }
    }
  }
  return [...ids];
}

/** A's rows without columns that record use rather than content, and without the dispatcher's delivery progress. */
function stable(rows: Record<string, Array<Record<string, unknown>>>): string {
  const { webhook_deliveries: _deliveries, ...content } = rows;
  return JSON.stringify(content, (key, value) => (key === 'last_used_at' ? undefined : value));
}

test('organization B never reaches organization A through any route', async () => {
  const before = await rowsOfOrganization(app.ctx.store, orgA.id);
  const ids = candidateIds(before);
  assert.ok(ids.includes(orgA.id));
  assert.ok(ids.length >= 3, `A owns an organization row and API keys (seeded: ${seeded.join('; ')})`);
  for (const table of ['executions', 'revocations', 'erasure_requests', 'connections']) {
    assert.ok((before[table] ?? []).length > 0, `A owns rows in ${table}, so their ids are tried from B`);
  }
  for (const route of ['/executions/:id', '/erasure-requests/:id', '/instances/:id']) {
    assert.ok(app.routes.some((r) => r.url === route), `${route} is among the probed routes`);
  }

  // Platform-administration routes answer 403 to every tenant by design; every other route is in scope.
  const withParams = app.routes.filter((r) => r.auth === 'org' && r.permission !== 'platform:admin' && /[:*]/.test(r.url));
  assert.ok(withParams.some((r) => r.url === '/api-keys/:id'), 'routes are discovered from the server');
  const failures: string[] = [];
  for (const route of withParams) {
    for (const method of route.methods) {
      for (const id of ids) {
        const url = route.url.replace(/:[A-Za-z0-9_]+/g, encodeURIComponent(id)).replace('*', 'probe');
        const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
        const res = await app.call(method, url, { apiKey: orgB.apiKey, ...(hasBody ? { body: {} } : {}) });
        // A 400 on the path parameter means the value has the wrong shape for this route whatever the tenant; it
        // reveals nothing about A. A 400 on the body means B did not fill it in.
        const invalid = res.status === 400 && ['VALIDATION_FAILED', 'CONNECTOR_INVALID', 'FLOW_COMPILE_FAILED'].includes(res.body.code);
        const paramShape = invalid && res.body.code === 'VALIDATION_FAILED' && (res.body.details ?? []).every((d: { path: string }) => d.path.startsWith('params.'));
        const ok = res.status === 404 || paramShape || (hasBody && invalid);
        if (!ok) failures.push(`${method} ${route.url} with A's ${id}: ${res.status} ${res.text.slice(0, 160)}`);
      }
    }
  }
  assert.deepEqual(failures, []);

  const lists = app.routes.filter((r) => r.auth === 'org' && r.methods.includes('GET') && !/[:*]/.test(r.url));
  for (const route of lists) {
    const res = await app.call('GET', route.url, { apiKey: orgB.apiKey });
    if (res.status !== 200) continue;
    for (const id of ids) assert.ok(!res.text.includes(id), `GET ${route.url} as B shows A's ${id}`);
  }

  const after = await rowsOfOrganization(app.ctx.store, orgA.id);
  // A's own webhook dispatcher keeps working in the background (a delivery row per A event, attempts and retries
  // against A's receiver), so deliveries are compared by what they deliver: only A's events, none caused by B.
  const eventsBefore = new Set((before.events ?? []).map((e) => e.id));
  for (const delivery of after.webhook_deliveries ?? []) assert.ok(eventsBefore.has(delivery.event_id), `a delivery of an event that was not A's before B's calls: ${String(delivery.event_type)}`);
  assert.equal(stable(after), stable(before), "none of A's rows changed");
});

test("B cannot revoke A's key, and A's key keeps working", async () => {
  const keys = await app.call('GET', '/api-keys', { apiKey: orgA.apiKey });
  for (const key of keys.body.apiKeys) {
    const res = await app.call('DELETE', `/api-keys/${key.id}`, { apiKey: orgB.apiKey });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'NOT_FOUND');
  }
  assert.equal((await app.call('GET', '/api-keys', { apiKey: orgA.apiKey })).status, 200);
});

test("an organization's own admin is not a platform admin", async () => {
  assert.equal((await app.call('POST', '/organizations', { apiKey: orgB.apiKey, body: { name: 'sneaky' } })).status, 403);
  assert.equal((await app.call('POST', '/keyring/rotate', { apiKey: orgB.apiKey })).status, 403);
  const orgs = await app.call('GET', '/organizations', { apiKey: orgB.apiKey });
  assert.deepEqual(orgs.body.organizations.map((o: { id: string }) => o.id), [orgB.id]);
  assert.equal((await app.call('GET', `/organizations/${orgA.id}`, { apiKey: orgB.apiKey })).status, 404);
});

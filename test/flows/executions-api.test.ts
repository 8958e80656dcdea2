/**
 * The execution endpoints against an in-process app: `POST /instances/{id}/flows/{name}/run` runs a private
 * connector's action flow (its HTTP card answered by a local server), `GET /executions` lists with filters and a
 * cursor, `GET /executions/{id}` shows the card records. The instance's API key (a vault value) never appears in a
 * response or in stored history; bad input, unknown flows, system flows and other organizations get clear errors.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../support/app.ts';
import { echoConnector, startEchoServer } from './echo-connector.ts';

const CANARY = 'k3y/canary+Value==42';

let app: TestApp;
let server: Server;
let instanceId: string;

before(async () => {
  server = await startEchoServer();
  app = await startTestApp();
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const deployed = await app.call('POST', '/elements', { body: echoConnector(base) });
  assert.ok(deployed.status === 200 || deployed.status === 201, deployed.text);
  const created = await app.call('POST', '/instances', { body: { element: { key: 'echoer' }, name: 'echo one', credentials: { apiKey: CANARY } } });
  assert.equal(created.status, 201, created.text);
  instanceId = created.body.id;
});

after(async () => {
  await app.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const run = (flow: string, body: unknown, id = instanceId, apiKey?: string) =>
  app.call('POST', `/instances/${id}/flows/${flow}/run`, { body, ...(apiKey === undefined ? {} : { apiKey }) });

describe('POST /instances/{id}/flows/{name}/run', () => {
  it('runs the flow, records it, and redacts the vault value from the answer', async () => {
    const res = await run('whoami', { inputs: { who: 'ada' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'succeeded');
    assert.equal(res.body.historySaved, true);
    assert.match(res.body.executionId, /^exe_/);
    assert.equal(res.body.outputs.status, 200);
    assert.deepEqual(res.body.outputs.body, { sawKey: '[redacted]', body: { who: 'ada' } });
    assert.equal(res.body.outputs.leak, 'key=[redacted]');
    assert.ok(!res.text.includes(CANARY));

    const detail = await app.call('GET', `/executions/${res.body.executionId}`);
    assert.equal(detail.status, 200, detail.text);
    assert.equal(detail.body.flow, 'whoami');
    assert.equal(detail.body.connectionId, instanceId);
    assert.equal(detail.body.trigger, 'api');
    assert.deepEqual(detail.body.cards.map((card: { type: string }) => card.type), ['http', 'return']);
    assert.equal(detail.body.cards[0].inputs.headers['x-api-key'], '[redacted]');
    assert.ok(!detail.text.includes(CANARY) && !detail.text.includes(encodeURIComponent(CANARY)));
    assert.ok(!app.logs.join('\n').includes(CANARY), 'no log line holds the key');
  });

  it('answers a failing flow with status failed and its execution id', async () => {
    const res = await run('broken', {});
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'failed');
    assert.deepEqual(res.body.error, { code: 'FLOW_FAILED', message: 'this flow always fails' });
    assert.equal(res.body.outputs, null);
  });

  it('refuses unknown flows with a suggestion, and system flows', async () => {
    const unknown = await run('whoamii', {});
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'NOT_FOUND');
    assert.match(unknown.body.message, /did you mean 'whoami'/);
    const system = await run('_authping', {});
    assert.equal(system.status, 404);
    assert.match(system.body.message, /system flow/);
  });

  it('refuses bad inputs and bodies with 400 naming the field', async () => {
    const missing = await run('whoami', { inputs: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'VALIDATION_FAILED');
    assert.equal(missing.body.details[0].path, 'inputs.who');
    const mistyped = await run('whoami', { inputs: { who: 42 } });
    assert.equal(mistyped.status, 400);
    assert.match(mistyped.body.details[0].message, /expected text/);
    const unknownKey = await run('whoami', { inputs: { who: 'x' }, extra: true });
    assert.equal(unknownKey.status, 400);
    const badName = await run('who-am-i', {});
    assert.equal(badName.status, 400);
  });

  it('answers 404 for an unknown instance and for another organization', async () => {
    assert.equal((await run('whoami', { inputs: { who: 'x' } }, 'nope')).status, 404);
    const org = await app.call('POST', '/organizations', { body: { name: 'Other org' } });
    assert.equal(org.status, 201, org.text);
    const other: string = org.body.apiKey.secret;
    assert.equal((await run('whoami', { inputs: { who: 'x' } }, instanceId, other)).status, 404);
    const mine = await app.call('GET', '/executions?limit=1');
    const theirs = await app.call('GET', `/executions/${mine.body.executions[0].id}`, { apiKey: other });
    assert.equal(theirs.status, 404);
    const theirList = await app.call('GET', '/executions', { apiKey: other });
    assert.deepEqual(theirList.body.executions, []);
  });

  it('refuses a disabled instance', async () => {
    const created = await app.call('POST', '/instances', { body: { element: { key: 'echoer' }, name: 'echo two', credentials: { apiKey: 'other-key-123' } } });
    assert.equal((await app.call('DELETE', `/instances/${created.body.id}/enabled`)).status < 300, true);
    const res = await run('whoami', { inputs: { who: 'x' } }, created.body.id);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'INSTANCE_DISABLED');
  });
});

describe('GET /executions', () => {
  it('filters by connection, flow and status, and pages with a cursor', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await run('whoami', { inputs: { who: `p${i}` } })).status, 200);
    const failed = await app.call('GET', `/executions?status=failed&connectionId=${instanceId}`);
    assert.equal(failed.status, 200, failed.text);
    assert.ok(failed.body.executions.length >= 1);
    assert.ok(failed.body.executions.every((e: { status: string; flow: string }) => e.status === 'failed' && e.flow === 'broken'));

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await app.call('GET', `/executions?flow=whoami&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      assert.equal(page.status, 200, page.text);
      ids.push(...page.body.executions.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    assert.ok(ids.length >= 4);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('filters by time', async () => {
    const future = await app.call('GET', `/executions?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    assert.deepEqual(future.body.executions, []);
    const past = await app.call('GET', `/executions?to=${encodeURIComponent('2000-01-01T00:00:00Z')}`);
    assert.deepEqual(past.body.executions, []);
  });

  it('refuses bad filters and foreign cursors with 400', async () => {
    for (const query of ['status=done', 'from=yesterday', 'limit=0', 'limit=500', 'cursor=abc', 'colour=red']) {
      const res = await app.call('GET', `/executions?${query}`);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
    }
    assert.equal((await app.call('GET', '/executions/exe_missing')).status, 404);
  });

  it('needs credentials', async () => {
    assert.equal((await app.call('GET', '/executions', { apiKey: null })).status, 401);
  });
});

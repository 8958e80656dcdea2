/**
 * Executions repository contract, on SQLite and (when PLUGBOARD_TEST_DATABASE_URL is set) PostgreSQL: the store sink
 * writes what the engine records, tenants never see each other's history, listing filters and paginates, retention
 * prunes by age and count, and a canary vault value is absent from the stored rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { compileConnectorFlows, handlerTransport, runFlow, runRevoke } from '../../src/flows/index.ts';
import { createOrganization } from '../../src/store/organizations.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { getExecution, listExecutions, pruneExecutions, storeExecutionSink } from '../../src/store/executions.ts';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { BOX_FLOWS, FILE, action } from './fixtures.ts';

const CANARY = 'canary+/Tok3n=value&x';
const box = compileConnectorFlows(BOX_FLOWS, { file: FILE, connectorKey: 'box' });
const ok = handlerTransport((req) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ echoed: req.body }) }));
const auth = { accessToken: `a-${CANARY}`, refreshToken: CANARY, clientId: 'client', clientSecret: 'client-secret-9f8e7d', baseUrl: 'https://api.box.test' };

for (const backend of BACKENDS) {
  describe(`executions store (${backend})`, () => {
    let database: TestDatabase;
    let store: Store;
    let orgA: string;
    let orgB: string;

    before(async () => {
      database = await createTestDatabase(backend);
      store = await openStore({ dataDir: database.dataDir, ...(database.databaseUrl === undefined ? {} : { databaseUrl: database.databaseUrl }) });
      orgA = (await createOrganization(store.db, { name: 'A', adminEmail: 'a@example.com', adminName: 'A' })).organization.id;
      orgB = (await createOrganization(store.db, { name: 'B', adminEmail: 'b@example.com', adminName: 'B' })).organization.id;
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    it('stores a revoke execution with its cards, redacted', async () => {
      const sink = storeExecutionSink(store.db);
      const result = await runRevoke(box, { auth, transport: ok, sink, context: { orgId: orgA, connectionId: 'con_1', trigger: 'revoke' } });
      assert.equal(result.historySaved, true);
      const stored = await getExecution(store.db, orgA, result.executionId);
      assert.ok(stored !== undefined);
      assert.equal(stored.flow, '_revoke');
      assert.equal(stored.status, 'succeeded');
      assert.equal(stored.connectionId, 'con_1');
      assert.equal(stored.trigger, 'revoke');
      assert.equal(stored.saveData, true);
      assert.equal(stored.cards.length, 11);
      assert.deepEqual(stored.cards.map((card) => card.seq), [...Array(11).keys()]);
      assert.equal((stored.outputs as { revoked: boolean }).revoked, true);
      const rows = await sql<{ text: string }>`select inputs || outputs as text from execution_cards`.execute(store.db);
      const all = JSON.stringify(rows.rows) + JSON.stringify(await store.db.selectFrom('executions').selectAll().execute());
      for (const form of [CANARY, encodeURIComponent(CANARY), Buffer.from(CANARY).toString('base64'), 'client-secret-9f8e7d']) {
        assert.ok(!all.includes(form), `stored history contains ${form}`);
      }
    });

    it('refuses a record without an organization', async () => {
      const sink = storeExecutionSink(store.db);
      const result = await runRevoke(box, { auth, transport: ok, sink });
      assert.equal(result.historySaved, false);
      assert.equal(await getExecution(store.db, orgA, result.executionId), undefined);
    });

    it('keeps organizations apart', async () => {
      const sink = storeExecutionSink(store.db);
      const result = await runRevoke(box, { auth, transport: ok, sink, context: { orgId: orgB } });
      assert.equal(await getExecution(store.db, orgA, result.executionId), undefined);
      assert.ok((await getExecution(store.db, orgB, result.executionId)) !== undefined);
      const pageA = await listExecutions(store.db, orgA, {}, { limit: 100 });
      assert.ok(pageA.items.every((item) => item.id !== result.executionId));
    });

    it('filters by connection, flow, status and time, and paginates newest first', async () => {
      const sink = storeExecutionSink(store.db);
      const failing = compileConnectorFlows([action([{ id: 'no', type: 'returnError', message: 'no' }], {}, { name: 'broken' })], {
        file: 'connectors/broken.yaml',
        connectorKey: 'broken',
      });
      const before = new Date().toISOString();
      for (let i = 0; i < 5; i++) await runRevoke(box, { auth, transport: ok, sink, context: { orgId: orgA, connectionId: 'con_page' } });
      await runFlow(failing, 'broken', { sink, context: { orgId: orgA, connectionId: 'con_page' } });

      const failed = await listExecutions(store.db, orgA, { status: 'failed' }, { limit: 10 });
      assert.deepEqual(failed.items.map((item) => item.flow), ['broken']);
      assert.equal(failed.items[0].error?.code, 'FLOW_FAILED');
      assert.equal((await listExecutions(store.db, orgA, { flow: '_revoke', connectionId: 'con_page' }, { limit: 50 })).items.length, 5);
      assert.equal((await listExecutions(store.db, orgA, { to: before }, { limit: 50 })).items.every((item) => item.startedAt < before), true);

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await listExecutions(store.db, orgA, { connectionId: 'con_page' }, { limit: 2, ...(cursor === undefined ? {} : { cursor }) });
        seen.push(...page.items.map((item) => `${item.startedAt}|${item.id}`));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      assert.equal(seen.length, 6);
      assert.equal(new Set(seen).size, 6);
      assert.deepEqual([...seen].sort().reverse(), seen);
    });

    it('rejects a cursor it did not issue', async () => {
      await assert.rejects(listExecutions(store.db, orgA, {}, { limit: 5, cursor: 'not-a-cursor' }), { code: 'VALIDATION_FAILED' });
    });

    it('prunes by count and by age, cards included', async () => {
      const sink = storeExecutionSink(store.db, { pruneEveryMs: 3_600_000 });
      for (let i = 0; i < 4; i++) await runRevoke(box, { auth, transport: ok, sink, context: { orgId: orgB } });
      const total = (await listExecutions(store.db, orgB, {}, { limit: 200 })).items.length;
      assert.ok(total >= 4);
      const deleted = await pruneExecutions(store.db, orgB, { retentionDays: 365, maxPerOrg: 2 });
      assert.equal(deleted, total - 2);
      const left = (await listExecutions(store.db, orgB, {}, { limit: 200 })).items;
      assert.equal(left.length, 2);
      const orphanCards = await store.db
        .selectFrom('execution_cards')
        .select('execution_id')
        .where('org_id', '=', orgB)
        .where('execution_id', 'not in', left.map((item) => item.id))
        .execute();
      assert.deepEqual(orphanCards, []);
      // Everything is older than "now plus one day": an age-based prune empties the organization.
      assert.equal(await pruneExecutions(store.db, orgB, { retentionDays: 1, maxPerOrg: 1000 }, Date.now() + 2 * 86_400_000), 2);
      assert.equal((await listExecutions(store.db, orgA, {}, { limit: 1 })).items.length, 1, 'another organization is untouched');
    });
  });
}

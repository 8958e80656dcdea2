/**
 * End to end: deleting a connection runs the connector's `_revoke` flow against the sandbox provider, and the run is
 * in execution history (trigger `revoke`, every card recorded because the flow saves its data) with neither token nor
 * the client secret anywhere in what `GET /executions/{id}` returns.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_CLIENT } from '../../src/sandbox/index.ts';
import { seedConnection, startRevocationFixture, type RevocationFixture } from '../revocation/support.ts';

let f: RevocationFixture;
before(async () => {
  f = await startRevocationFixture();
});
after(async () => {
  await f.close();
});

test('a revoke on delete is recorded, card by card, redacted', async () => {
  const c = await seedConnection(f, { elementKey: 'sandbox' });
  const res = await f.app.call('DELETE', `/instances/${c.id}`);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.revoked, true);

  const list = await f.app.call('GET', `/executions?connectionId=${c.id}&flow=_revoke`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.executions.length, 1);
  const [summary] = list.body.executions;
  assert.equal(summary.status, 'succeeded');
  assert.equal(summary.trigger, 'revoke');
  assert.equal(summary.saveData, true);

  const detail = await f.app.call('GET', `/executions/${summary.id}`);
  assert.equal(detail.status, 200, detail.text);
  assert.equal((detail.body.outputs as { revoked: boolean }).revoked, true);
  assert.ok(detail.body.cards.length >= 5);
  assert.ok(detail.body.cards.some((card: { type: string }) => card.type === 'http'));
  for (const secret of [c.accessToken, c.refreshToken as string, DEFAULT_CLIENT.secret]) {
    assert.ok(!detail.text.includes(secret), 'a vault value reached execution history');
    assert.ok(!detail.text.includes(encodeURIComponent(secret)));
  }
  assert.match(detail.text, /\[redacted\]/);
});

/**
 * The connection status state machine: derived status, the events each transition emits, the transitions refused on
 * a revoked connection, and a property that the stored status always equals the one derived from the flags.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertUsable, initialState, statusOf, transition, type ConnectionAction } from '../../src/core/connection.ts';
import { PlugboardError } from '../../src/core/errors.ts';

test('status: revoked wins over disabled, disabled over validity', () => {
  assert.equal(statusOf({ valid: true, disabled: false, revoked: false }), 'active');
  assert.equal(statusOf({ valid: false, disabled: false, revoked: false }), 'invalid');
  assert.equal(statusOf({ valid: true, disabled: true, revoked: false }), 'disabled');
  assert.equal(statusOf({ valid: true, disabled: true, revoked: true }), 'revoked');
});

test('re-authentication brings a revoked connection back and keeps it disabled when it was', () => {
  const revoked = transition(initialState(true), { kind: 'revoke' });
  assert.equal(revoked.status, 'revoked');
  assert.equal(revoked.event, 'instance.revoked');
  const back = transition(revoked.state, { kind: 'reauthenticate' });
  assert.equal(back.status, 'active');
  assert.equal(back.event, 'instance.reauthenticated');
  assert.deepEqual(back.data, { from: 'revoked', to: 'active' });
  const disabled = transition(initialState(false), { kind: 'disable' }).state;
  const reauthed = transition(disabled, { kind: 'reauthenticate' });
  assert.equal(reauthed.status, 'disabled');
  assert.equal(reauthed.state.valid, true);
});

test('a transition that changes nothing emits no event', () => {
  assert.equal(transition(initialState(true), { kind: 'validate' }).event, null);
  assert.equal(transition(initialState(true), { kind: 'enable' }).event, null);
  assert.equal(transition(initialState(false), { kind: 'invalidate', reason: 'x' }).event, null);
  const revoked = transition(initialState(true), { kind: 'revoke' }).state;
  assert.equal(transition(revoked, { kind: 'revoke' }).event, null);
});

test('a revoked connection cannot be validated or invalidated', () => {
  const revoked = transition(initialState(true), { kind: 'revoke' }).state;
  assert.throws(() => transition(revoked, { kind: 'validate' }), (e: unknown) => e instanceof PlugboardError && e.code === 'INSTANCE_REVOKED');
  assert.throws(() => transition(revoked, { kind: 'invalidate', reason: 'x' }), (e: unknown) => e instanceof PlugboardError && e.code === 'INSTANCE_REVOKED');
});

test('assertUsable refuses disabled and revoked connections with their own codes', () => {
  assert.doesNotThrow(() => assertUsable(initialState(false)));
  assert.throws(() => assertUsable({ valid: true, disabled: true, revoked: false }), (e: unknown) => e instanceof PlugboardError && e.code === 'INSTANCE_DISABLED');
  assert.throws(() => assertUsable({ valid: true, disabled: true, revoked: true }), (e: unknown) => e instanceof PlugboardError && e.code === 'INSTANCE_REVOKED');
});

test('property: any sequence of actions keeps status derived from the flags and events only on change', () => {
  const action: fc.Arbitrary<ConnectionAction> = fc.oneof(
    fc.constant<ConnectionAction>({ kind: 'reauthenticate' }),
    fc.constant<ConnectionAction>({ kind: 'invalidate', reason: 'provider said 401' }),
    fc.constant<ConnectionAction>({ kind: 'validate' }),
    fc.constant<ConnectionAction>({ kind: 'disable' }),
    fc.constant<ConnectionAction>({ kind: 'enable' }),
    fc.constant<ConnectionAction>({ kind: 'revoke' }),
  );
  fc.assert(fc.property(fc.boolean(), fc.array(action, { maxLength: 30 }), (valid, actions) => {
    let state = initialState(valid);
    for (const a of actions) {
      let t;
      try {
        t = transition(state, a);
      } catch (e) {
        assert.ok(state.revoked && (a.kind === 'validate' || a.kind === 'invalidate'));
        assert.ok(e instanceof PlugboardError);
        continue;
      }
      assert.equal(t.status, statusOf(t.state));
      const changed = JSON.stringify(t.state) !== JSON.stringify(state);
      assert.equal(t.event !== null, changed || a.kind === 'reauthenticate');
      state = t.state;
    }
  }));
});

/**
 * The connection (instance) status state machine. A connection carries three independent facts: whether its
 * credentials work (`valid`), whether a person switched it off (`disabled`) and whether its grant was revoked at the
 * provider (`revoked`). The public `status` is derived from them in one place so the API, the store filter column and
 * the console can never disagree. Each transition names the event it emits; a transition that changes nothing emits
 * nothing, so repeated health checks do not flood the events table. Pure: no storage, HTTP or clock access.
 */

import { PlugboardError } from './errors.ts';
import type { KnownEventType } from './events.ts';

export type ConnectionStatus = 'active' | 'invalid' | 'disabled' | 'revoked';

export const CONNECTION_STATUSES: readonly ConnectionStatus[] = ['active', 'invalid', 'disabled', 'revoked'];

export interface ConnectionState {
  valid: boolean;
  disabled: boolean;
  revoked: boolean;
}

/**
 * Event types recorded about connections, a subset of `KNOWN_EVENT_TYPES` (src/core/events.ts), which also holds the
 * ones other areas record (`erasure.completed`).
 */
export const CONNECTION_EVENT_TYPES = [
  'instance.created',
  'instance.updated',
  'instance.reauthenticated',
  'instance.invalidated',
  'instance.validated',
  'instance.disabled',
  'instance.enabled',
  'instance.revoked',
  'instance.deleted',
  'instance.refreshed',
  'instance.refresh_failed',
  'instance.credentials.read',
  'instance.token_rotated',
] as const satisfies readonly KnownEventType[];

export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];

export type ConnectionAction =
  | { kind: 'reauthenticate' }
  | { kind: 'invalidate'; reason: string }
  | { kind: 'validate' }
  | { kind: 'disable' }
  | { kind: 'enable' }
  | { kind: 'revoke' };

export interface Transition {
  state: ConnectionState;
  status: ConnectionStatus;
  /** The event to record, or null when the action changed nothing. */
  event: ConnectionEventType | null;
  /** Non-secret facts for the event's data. */
  data: Record<string, string | boolean>;
}

/** Revoked wins over disabled, disabled over validity: the strongest reason a connection cannot be used is shown. */
export function statusOf(state: ConnectionState): ConnectionStatus {
  if (state.revoked) return 'revoked';
  if (state.disabled) return 'disabled';
  return state.valid ? 'active' : 'invalid';
}

export function initialState(valid: boolean): ConnectionState {
  return { valid, disabled: false, revoked: false };
}

function result(before: ConnectionState, state: ConnectionState, event: ConnectionEventType | null, data: Record<string, string | boolean> = {}): Transition {
  const from = statusOf(before);
  const to = statusOf(state);
  return { state, status: to, event, data: event === null ? {} : { from, to, ...data } };
}

/**
 * Applies one action. Re-authentication is the only way back from `revoked` (seed 002: PATCH /instances with a new
 * code); validity can only be changed on a connection that still holds a grant.
 */
export function transition(before: ConnectionState, action: ConnectionAction): Transition {
  switch (action.kind) {
    case 'reauthenticate':
      return result(before, { ...before, valid: true, revoked: false }, 'instance.reauthenticated');
    case 'invalidate':
      if (before.revoked) throw revokedError('marked invalid');
      if (!before.valid) return result(before, before, null);
      return result(before, { ...before, valid: false }, 'instance.invalidated', { reason: action.reason });
    case 'validate':
      if (before.revoked) throw revokedError('marked valid');
      if (before.valid) return result(before, before, null);
      return result(before, { ...before, valid: true }, 'instance.validated');
    case 'disable':
      if (before.disabled) return result(before, before, null);
      return result(before, { ...before, disabled: true }, 'instance.disabled');
    case 'enable':
      if (!before.disabled) return result(before, before, null);
      return result(before, { ...before, disabled: false }, 'instance.enabled');
    case 'revoke':
      if (before.revoked) return result(before, before, null);
      return result(before, { ...before, valid: false, revoked: true }, 'instance.revoked');
  }
}

function revokedError(what: string): PlugboardError {
  return new PlugboardError('INSTANCE_REVOKED', `A revoked instance cannot be ${what}; re-authenticate it with PATCH /instances/{id} and a new code.`);
}

/**
 * Guards every use of a connection's credentials (proxy call, flow run, credentials read, token refresh): a disabled
 * or revoked connection must not reach the provider.
 */
export function assertUsable(state: ConnectionState): void {
  if (state.revoked) {
    throw new PlugboardError('INSTANCE_REVOKED', 'The instance was revoked; re-authenticate it with PATCH /instances/{id} and a new code.');
  }
  if (state.disabled) {
    throw new PlugboardError('INSTANCE_DISABLED', 'The instance is disabled; enable it with PUT /instances/{id}/enabled first.');
  }
}

/**
 * Checking one connection's health: make sure its token is fresh (a refresh under the connection lock when it is
 * expired or about to be), then run the connector's `_authping` flow, which sets `valid` through the status state
 * machine. A connector without an authping flow is judged by its token alone: an OAuth connection whose token could
 * be obtained counts as working, anything else is reported as unknown (`working: null`) and left as it is. Each check
 * is written to `connection_health`. Refresh failures are counted by the connections area (`refresh_failures`);
 * when they reach the configured limit, the connection is disabled with its reason (event `instance.disabled`), as
 * Open Connectors does, so a dead provider app stops being hammered.
 */

import { PlugboardError, isPlugboardError } from '../core/errors.ts';
import { assertUsable, transition } from '../core/connection.ts';
import { openSecret, requireConnection, stateColumns, stateOf, updateConnection, type ConnectionRow } from '../store/connections.ts';
import { recordEvent } from '../store/events.ts';
import { getFreshAccessToken, type TokenContext } from '../auth/tokens.ts';
import { authpingConnection } from '../auth/authping.ts';
import { resolveConnector } from '../auth/resolve.ts';
import type { ServiceResponse } from '../flows/index.ts';
import { updateHealth } from '../proxy/usage.ts';

export interface HealthCheckResult {
  instanceId: string;
  /** null: the connector has no authping flow and no token to judge by. */
  working: boolean | null;
  message: string;
  executionId: string | null;
  /** The authping flow's service response (status and body, vault values redacted); null when no flow ran. */
  serviceResponse: ServiceResponse | null;
  refreshed: boolean;
  valid: boolean;
  status: string;
  checkedAt: string;
}

function isOAuth(row: ConnectionRow): boolean {
  return row.auth_type === 'oauth2_authorization_code' || row.auth_type === 'oauth2_client_credentials';
}

/**
 * Disables a connection after too many consecutive refresh failures, recording why. Returns true when it changed.
 */
export async function disableForRefreshFailures(ctx: TokenContext, row: ConnectionRow, limit: number): Promise<boolean> {
  if (row.refresh_failures < limit || row.disabled === 1 || row.revoked === 1) return false;
  const reason = `${row.refresh_failures} consecutive token refreshes failed (limit ${limit}); fix the provider app or re-authenticate, then enable the instance`;
  const change = transition(stateOf(row), { kind: 'disable' });
  await updateConnection(ctx.store.db, ctx.vault, row.org_id, row.id, stateColumns(change.state));
  if (change.event !== null) await recordEvent(ctx.store.db, row.org_id, { type: change.event, instanceId: row.id, data: { ...change.data, reason, failures: row.refresh_failures } });
  await updateHealth(ctx.store.db, row.org_id, row.id, { disabled_reason: reason });
  return true;
}

export interface CheckOptions {
  /** Refresh even when the token is not yet close to expiry (the checker does this for tokens that would expire unused). */
  forceRefresh?: boolean;
  /** Skip the authping flow (a refresh-only round). */
  refreshOnly?: boolean;
  refreshFailureLimit: number;
}

/** Checks one connection; errors that say something about the connection are reported, not thrown. */
export async function checkConnection(ctx: TokenContext, orgId: string, instanceId: string, options: CheckOptions): Promise<HealthCheckResult> {
  let row = await requireConnection(ctx.store.db, orgId, instanceId);
  assertUsable(stateOf(row));
  let refreshed = false;
  let working: boolean | null = null;
  let message = '';
  let executionId: string | null = null;
  let serviceResponse: ServiceResponse | null = null;
  let tokenProblem: PlugboardError | null = null;

  if (isOAuth(row)) {
    try {
      const stored = options.forceRefresh === true ? await currentAccessToken(ctx, orgId, instanceId) : undefined;
      const token = await getFreshAccessToken(ctx, orgId, instanceId, stored === undefined ? {} : { rejectedAccessToken: stored });
      refreshed = token.refreshed;
    } catch (error) {
      if (!isPlugboardError(error)) throw error;
      tokenProblem = error;
    }
    row = await requireConnection(ctx.store.db, orgId, instanceId);
    if (tokenProblem !== null) {
      working = false;
      message = tokenProblem.message;
      if (await disableForRefreshFailures(ctx, row, options.refreshFailureLimit)) {
        row = await requireConnection(ctx.store.db, orgId, instanceId);
        message = `${message} The instance is now disabled.`;
      }
    }
  }

  if (tokenProblem === null && options.refreshOnly !== true) {
    const def = await resolveConnector(ctx, orgId, row.element_key);
    const outcome = await authpingConnection(ctx, def, row);
    executionId = outcome.executionId;
    serviceResponse = outcome.serviceResponse;
    if (outcome.working === null && isOAuth(row)) {
      working = true;
      message = 'The connector has no authping flow; the access token is fresh.';
    } else {
      working = outcome.working;
      message = outcome.message;
    }
    row = await requireConnection(ctx.store.db, orgId, instanceId);
  } else if (tokenProblem === null) {
    working = true;
    message = refreshed ? 'The access token was refreshed.' : 'The access token is fresh.';
  }

  const checkedAt = new Date().toISOString();
  await updateHealth(ctx.store.db, orgId, instanceId, { last_checked_at: checkedAt, last_check_ok: working === null ? null : working ? 1 : 0, last_check_message: message.slice(0, 1000) });
  return { instanceId, working, message, executionId, serviceResponse, refreshed, valid: row.valid === 1, status: row.status, checkedAt };
}

/** The stored token, handed back as "rejected" to force a refresh under the lock (a waiter then reuses the result). */
async function currentAccessToken(ctx: TokenContext, orgId: string, instanceId: string): Promise<string | undefined> {
  const row = await requireConnection(ctx.store.db, orgId, instanceId);
  return openSecret(ctx.vault, row, 'access_token') ?? undefined;
}

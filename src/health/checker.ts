/**
 * The periodic health checker. Every round (mean interval from the configuration, jittered by +-20% so several
 * processes started together do not check in lockstep) it looks at every usable connection of every organization:
 * OAuth tokens that would expire before the next round are refreshed now (so an idle connection does not lose its
 * grant to a refresh token that expires unused), and connections nobody has called for the idle time, and that were
 * not checked within it, get their authping run. Work is bounded per round and done a few connections at a time.
 * Several processes may run rounds at once: refreshes serialise on the connection lock, and a repeated authping
 * is harmless.
 */

import type { AppContext } from '../context.ts';
import { isPlugboardError } from '../core/errors.ts';
import { REFRESH_MARGIN_MS } from '../auth/tokens.ts';
import { healthDb } from '../proxy/usage.ts';
import { checkConnection, type HealthCheckResult } from './check.ts';

export interface HealthSettings {
  intervalMs: number;
  idleMs: number;
  refreshFailureLimit: number;
  /** Connections checked per round, at most. */
  maxPerRound: number;
  concurrency: number;
}

export interface RoundReport {
  refreshed: number;
  pinged: number;
  failed: number;
  disabled: number;
}

type Ctx = Pick<AppContext, 'store' | 'vault' | 'log'>;

interface Candidate {
  orgId: string;
  id: string;
  mode: 'refresh' | 'ping';
}

/** Chooses this round's work. Exported for tests. */
export async function selectCandidates(ctx: Ctx, settings: HealthSettings, now = Date.now()): Promise<Candidate[]> {
  const db = healthDb(ctx.store.db);
  const refreshBefore = new Date(now + settings.intervalMs * 1.2 + REFRESH_MARGIN_MS).toISOString();
  const idleSince = new Date(now - settings.idleMs).toISOString();
  const orgs = await db.selectFrom('organizations').select('id').execute();
  const out: Candidate[] = [];
  for (const { id: orgId } of orgs) {
    const rows = await db
      .selectFrom('connections')
      .leftJoin('connection_health', 'connection_health.connection_id', 'connections.id')
      .select(['connections.id', 'connections.auth_type', 'connections.expires_at', 'connections.refresh_token', 'connections.valid', 'connections.created_at', 'connection_health.last_used_at', 'connection_health.last_checked_at'])
      .where('connections.org_id', '=', orgId)
      .where('connections.disabled', '=', 0)
      .where('connections.revoked', '=', 0)
      .orderBy('connections.id')
      .execute();
    for (const r of rows) {
      const oauth = r.auth_type === 'oauth2_authorization_code' || r.auth_type === 'oauth2_client_credentials';
      const renewable = r.refresh_token !== null || r.auth_type === 'oauth2_client_credentials';
      if (oauth && renewable && r.valid === 1 && r.expires_at !== null && r.expires_at < refreshBefore) {
        out.push({ orgId, id: r.id, mode: 'refresh' });
        continue;
      }
      const lastUsed = r.last_used_at ?? r.created_at;
      const lastChecked = r.last_checked_at ?? r.created_at;
      if (r.valid === 1 && lastUsed < idleSince && lastChecked < idleSince) out.push({ orgId, id: r.id, mode: 'ping' });
    }
    if (out.length >= settings.maxPerRound) break;
  }
  return out.slice(0, settings.maxPerRound);
}

/** Runs one round; never throws for a single connection's failure. */
export async function runHealthRound(ctx: Ctx, settings: HealthSettings, now = Date.now()): Promise<RoundReport> {
  const candidates = await selectCandidates(ctx, settings, now);
  const report: RoundReport = { refreshed: 0, pinged: 0, failed: 0, disabled: 0 };
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const c = candidates[next++];
      try {
        const result: HealthCheckResult = await checkConnection(ctx, c.orgId, c.id, {
          forceRefresh: c.mode === 'refresh',
          refreshOnly: c.mode === 'refresh',
          refreshFailureLimit: settings.refreshFailureLimit,
        });
        if (c.mode === 'refresh' && result.refreshed) report.refreshed++;
        if (c.mode === 'ping') report.pinged++;
        if (result.working === false) report.failed++;
        if (result.status === 'disabled') report.disabled++;
      } catch (error) {
        report.failed++;
        // A connection disabled, revoked or deleted since selection is not an error of the checker.
        if (!isPlugboardError(error) || (error.code !== 'INSTANCE_DISABLED' && error.code !== 'INSTANCE_REVOKED' && error.code !== 'NOT_FOUND')) {
          ctx.log.warn({ err: error, instanceId: c.id }, 'health check of a connection failed');
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, candidates.length) }, worker));
  return report;
}

/** The next delay: the mean interval +-20%. */
export function jitteredDelay(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (0.8 + 0.4 * random()));
}

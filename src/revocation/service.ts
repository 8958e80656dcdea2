/**
 * Revocation as the platform runs it: on delete, on a test revoke, and for every connection of a GDPR erasure
 * request. The order is always the same: under the connection's lock (so no refresh can mint a token we would miss)
 * take the latest grant, seal it into a pending `revocations` row and destroy the connection's local secrets in the
 * same transaction; then call the provider. The provider call never holds a deletion hostage: on delete and test
 * revoke it is attempted inline within a short bound, and whatever is not finished by then continues as a durable
 * job (`revocation.revoke`), retried with backoff (and the provider's Retry-After) up to a bounded number of attempts,
 * with a per-provider concurrency limit. The sealed grant is dropped the moment the revocation ends, whatever the
 * outcome. Erasure requests (`erasure.run`) collect matching connections in batches, each batch erased atomically
 * (secrets, configuration, tags, events and executions about the connection), then fan out revocation jobs; the
 * request completes when its last item ends, crash or not.
 */
import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { PlugboardError } from '../core/errors.ts';
import { transition } from '../core/connection.ts';
import type { ConnectorDefinition } from '../connectors/schema.ts';
import { withConnectionLock } from '../auth/lock.ts';
import { baseUrlOf } from '../auth/provider.ts';
import { resolveConnector as resolveFromRegistry, resolveOAuthClient } from '../auth/resolve.ts';
import { openSecret, requireConnection, stateColumns, stateOf, updateConnection, type ConnectionRow, type SecretField } from '../store/connections.ts';
import { recordEvent } from '../store/events.ts';
import { executionSinkFor } from '../store/executions.ts';
import type { Database } from '../store/schema.ts';
import { deleteConnectionTraces, deleteUnchangedConnections, grantBatchesById, insertGrantBatch, insertRevocationRows } from '../store/erasure.ts';
import {
  completeErasure,
  erasureTotals,
  finishRevocation,
  getErasureRequest,
  insertErasureRequest,
  insertRevocations,
  noteRetry,
  finishErasureRevocations,
  noteRetries,
  pendingErasureRevocations,
  startAttempt,
  pendingRevocations,
  type ErasureRequestTable,
  type ErasureStatus,
  type RevocationReason,
  type RevocationResult,
  type RevocationTable,
} from '../store/revocations.ts';
import { newId, newOrderedIds } from '../crypto/random.ts';
import { backoffDelayMs } from '../jobs/backoff.ts';
import { JobRetryError, type JobContext, type JobQueue } from '../jobs/types.ts';
import { manualStep, revokeAtProvider, verifyRevoked, type Grant, type ProviderOutcome } from './perform.ts';
import { ProviderGate } from './gate.ts';

export const REVOKE_JOB = 'revocation.revoke';
export const ERASURE_JOB = 'erasure.run';
export const BATCH_JOB = 'erasure.revoke-batch';

export interface RevocationSettings {
  /** Bound on each provider request. */
  requestTimeoutMs: number;
  /** How long DELETE and test revoke wait for the provider before answering `pending`. */
  inlineBoundMs: number;
  /** Provider attempts per revocation before it is reported failed (with its manual step). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Revocations running at once per process, and per provider (connector). */
  concurrency: number;
  perProviderLimit: number;
  /** Store erasure subjects (external ids) as salted SHA-256 once collected. */
  hashExternalIds: boolean;
  /** Revocations per batch job (`erasure.revoke-batch`): the rows and grants one batch holds in memory. */
  erasureBatchSize: number;
  /**
   * Connections collected and erased per transaction. Larger than a batch job: a connection's index entries sit on
   * pages spread over each index, and a transaction writes every page it touched once, so deleting more connections
   * per transaction writes fewer pages per connection.
   */
  collectionBatchSize: number;
  /** Revocation batch jobs running at once per process (their provider calls share the per-provider limit). */
  batchConcurrency: number;
  /** Receipt lines written per transaction inside a batch (the default, the batch size, writes them once per batch). */
  receiptFlushSize: number;
  /** A pending revocation untouched this long is assumed orphaned (crash) and re-enqueued by the recovery sweep. */
  recoveryAfterMs: number;
}

export const DEFAULT_REVOCATION_SETTINGS: RevocationSettings = {
  requestTimeoutMs: 10_000,
  inlineBoundMs: 10_000,
  maxAttempts: 8,
  backoffBaseMs: 2_000,
  backoffMaxMs: 15 * 60_000,
  concurrency: 50,
  perProviderLimit: 20,
  hashExternalIds: false,
  erasureBatchSize: 500,
  collectionBatchSize: 2000,
  batchConcurrency: 3,
  receiptFlushSize: 500,
  recoveryAfterMs: 120_000,
};

export type ConnectorResolver = (orgId: string, key: string) => Promise<ConnectorDefinition>;

/** The outcome returned by DELETE /instances/{id} and POST /instances/{id}/revoke. */
export interface RevokeOutcome {
  id: string;
  revocationId: string;
  revoked: boolean;
  verified: boolean;
  /** True when the provider call continues in the background (see GET /erasure-requests or the events). */
  pending: boolean;
  message: { text: string; unregisterURL: string | null };
  serviceResponse: { statusCode: number | null; body: unknown };
}

export interface ErasureInput {
  externalUserId?: string;
  instanceIds?: string[];
  tag?: string;
}

interface RevokeJobData {
  revocationId: string;
  /** The connector key: the per-provider concurrency group. */
  provider: string;
}

/** One batch of an erasure request's revocations, all for one provider. */
interface BatchJobData {
  orgId: string;
  erasureId: string;
  provider: string;
  revocationIds: string[];
}

interface ErasureJobData {
  orgId: string;
  erasureId: string;
}

const PROVIDER_BODY_MAX = 8 * 1024;

/** What a revocation reads of a connection: its grant (tokens, OAuth client, configuration) and what guards the delete. */
const GRANT_COLUMNS = [
  'id', 'org_id', 'element_key', 'configuration', 'base_url', 'token_type', 'expires_at', 'access_token', 'refresh_token', 'username', 'password',
  'api_key', 'client_id', 'client_secret', 'lease_owner', 'lease_until', 'updated_at',
] as const satisfies ReadonlyArray<keyof ConnectionRow>;
type GrantRow = Pick<ConnectionRow, (typeof GRANT_COLUMNS)[number]>;
/** Grants sealed together in one `revocation_grant_batches` envelope (about 50 KB of envelope text at most). */
const GRANTS_PER_ENVELOPE = 100;
const REDACTED = '[redacted]';

/** The grant envelopes (`revocation_grant_batches`) that pending revocations name. */
function grantBatchIdsOf(rows: readonly RevocationTable[]): Set<string> {
  const ids = new Set<string>();
  for (const row of rows) if (row.grant_batch_id !== null) ids.add(row.grant_batch_id);
  return ids;
}

function nowIso(): string {
  return new Date().toISOString();
}

function grantSecrets(grant: Grant): string[] {
  const a = grant.auth;
  return [a.accessToken, a.refreshToken, a.clientSecret, a.password, a.apiKey].filter((v): v is string => typeof v === 'string' && v.length >= 4);
}

/** The provider's answer as stored: every grant value scrubbed, bounded in size. */
function storedBody(body: unknown, grant: Grant | null): string | null {
  if (body === null || body === undefined) return null;
  let text = JSON.stringify(body) as string | undefined;
  if (text === undefined) return null;
  for (const secret of grant === null ? [] : grantSecrets(grant)) text = text.split(JSON.stringify(secret).slice(1, -1)).join(REDACTED);
  if (text.length > PROVIDER_BODY_MAX) return JSON.stringify(`${text.slice(0, PROVIDER_BODY_MAX)}…`);
  return text;
}

function parseStoredBody(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function hashSubject(orgId: string, externalUserId: string): string {
  return `sha256:${createHash('sha256').update(`${orgId}\n${externalUserId}`).digest('hex')}`;
}

export class RevocationService {
  readonly ctx: AppContext;
  readonly settings: RevocationSettings;
  /** Where connectors come from; tests point it at a sandbox on an ephemeral port. */
  resolveConnector: ConnectorResolver;
  /** Bounds provider calls per provider across batch jobs and single revocation jobs of this process. */
  private readonly gate: ProviderGate;

  constructor(ctx: AppContext, settings: Partial<RevocationSettings> = {}) {
    this.ctx = ctx;
    this.settings = { ...DEFAULT_REVOCATION_SETTINGS, ...settings };
    this.gate = new ProviderGate(this.settings.perProviderLimit);
    this.resolveConnector = (orgId, key) => resolveFromRegistry(ctx, orgId, key);
  }

  private get db(): Kysely<Database> {
    return this.ctx.store.db;
  }

  private get jobs(): JobQueue {
    return this.ctx.jobs;
  }

  /** Defines the three jobs; call once before the queue starts. */
  defineJobs(): void {
    this.jobs.define<RevokeJobData>(REVOKE_JOB, (data, job) => this.runRevokeJob(data, job), {
      concurrency: this.settings.concurrency,
      // The revocation's own attempt budget decides when to give up; the extra job attempts cover runs cut short by a
      // crash, so a revocation always ends with a recorded outcome.
      maxAttempts: this.settings.maxAttempts + 3,
      backoff: { baseMs: this.settings.backoffBaseMs, maxMs: this.settings.backoffMaxMs },
      groupConcurrency: { key: (data) => data.provider, limit: this.settings.perProviderLimit },
    });
    this.jobs.define<BatchJobData>(BATCH_JOB, (data, job) => this.runBatchJob(data, job), {
      concurrency: this.settings.batchConcurrency,
      // A batch only dies with its process or a store outage; its unfinished rows are simply redone.
      maxAttempts: 20,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
    });
    this.jobs.define<ErasureJobData>(ERASURE_JOB, (data, job) => this.runErasureJob(data, job), {
      concurrency: 2,
      maxAttempts: 20,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
    });
  }

  // ---- grants -------------------------------------------------------------------------------------------------

  private sealGrant(orgId: string, revocationId: string, grant: Grant): string {
    return this.ctx.vault.seal(JSON.stringify(grant), { orgId, table: 'revocations', rowId: revocationId, field: 'sealed_grant' });
  }

  private openGrant(row: RevocationTable): Grant | null {
    if (row.sealed_grant === null) return null;
    return JSON.parse(this.ctx.vault.open(row.sealed_grant, { orgId: row.org_id, table: 'revocations', rowId: row.id, field: 'sealed_grant' })) as Grant;
  }

  /** One envelope for the grants of an erasure batch, keyed by revocation id and bound to its `revocation_grant_batches` row. */
  private sealGrants(orgId: string, batchId: string, grants: Record<string, Grant>): string {
    return this.ctx.vault.seal(JSON.stringify(grants), { orgId, table: 'revocation_grant_batches', rowId: batchId, field: 'sealed_grants' }, { document: true });
  }

  /**
   * The grants of pending revocations, by revocation id: each batch envelope the rows name is read and opened once,
   * a row's own envelope (a retry, a delete, a test revoke) when it has one. A row with neither has nothing to revoke.
   * `grantBatchIds`: the envelopes the rows name, when the caller has them already.
   */
  private async grantsOf(orgId: string, rows: readonly RevocationTable[], grantBatchIds: ReadonlySet<string> = grantBatchIdsOf(rows)): Promise<Map<string, Grant>> {
    const envelopes = new Map<string, Record<string, Grant>>();
    for (const batch of await grantBatchesById(this.db, orgId, [...grantBatchIds])) {
      const binding = { orgId: batch.org_id, table: 'revocation_grant_batches', rowId: batch.id, field: 'sealed_grants' };
      envelopes.set(batch.id, JSON.parse(this.ctx.vault.open(batch.sealed_grants, binding, { document: true })) as Record<string, Grant>);
    }
    const grants = new Map<string, Grant>();
    for (const row of rows) {
      if (row.grant_batch_id === null) {
        if (row.sealed_grant !== null) grants.set(row.id, this.openGrant(row) as Grant);
        continue;
      }
      const grant = envelopes.get(row.grant_batch_id)?.[row.id];
      if (grant === undefined) continue;
      grants.set(row.id, grant);
      this.ctx.vault.rememberSecrets(grantSecrets(grant));
    }
    return grants;
  }

  private async connectorOrNull(orgId: string, key: string): Promise<ConnectorDefinition | null> {
    try {
      return await this.resolveConnector(orgId, key);
    } catch (error) {
      if (error instanceof PlugboardError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /**
   * The latest grant of a connection (call under its lock): tokens, OAuth client, base URL and configuration, in the
   * shape of the flow `auth` object. Built from the connector this service resolved (not the registry's), so the
   * revocation talks to the same provider the grant came from.
   */
  private async snapshot(orgId: string, row: GrantRow, def: ConnectorDefinition | null): Promise<Grant | null> {
    if (def === null) return null;
    const configuration = JSON.parse(row.configuration) as Record<string, unknown>;
    let client: { clientId: string; clientSecret: string } | null = null;
    if (def.auth.type === 'oauth2_authorization_code' || def.auth.type === 'oauth2_client_credentials') {
      try {
        client = await resolveOAuthClient(this.ctx, orgId, def, row);
      } catch (error) {
        if (!(error instanceof PlugboardError) || error.code !== 'NOT_FOUND') throw error;
      }
    }
    const open = (field: SecretField): string | null => openSecret(this.ctx.vault, row, field);
    return {
      elementKey: row.element_key,
      auth: {
        accessToken: open('access_token'),
        refreshToken: open('refresh_token'),
        tokenType: row.token_type,
        expiresAt: row.expires_at,
        clientId: client?.clientId ?? row.client_id,
        clientSecret: client?.clientSecret ?? null,
        username: open('username'),
        password: open('password'),
        apiKey: open('api_key'),
        baseUrl: baseUrlOf(def, configuration, row.base_url),
        configuration,
      },
    };
  }

  private newRevocation(orgId: string, row: Pick<ConnectionRow, 'id' | 'element_key'>, reason: RevocationReason, erasureId: string | null, grant: Grant | null, now: string, id: string = newId()): RevocationTable {
    return {
      id,
      org_id: orgId,
      instance_id: row.id,
      erasure_id: erasureId,
      element_key: row.element_key,
      reason,
      status: 'pending',
      revoked: 0,
      verified: 0,
      method: null,
      provider_status: null,
      provider_body: null,
      message_text: null,
      unregister_url: null,
      attempts: 0,
      last_error: null,
      // An erasure seals the grants of a whole batch together (eraseBatch); delete and test revoke one by one.
      sealed_grant: grant === null || erasureId !== null ? null : this.sealGrant(orgId, id, grant),
      grant_batch_id: null,
      created_at: now,
      updated_at: now,
      completed_at: null,
    };
  }

  // ---- delete and test revoke ---------------------------------------------------------------------------------

  /**
   * DELETE /instances/{id} (`mode: 'delete'`) and POST /instances/{id}/revoke (`mode: 'test'`). Local secrets are
   * gone when this returns, whatever the provider does; the provider call is awaited at most `inlineBoundMs`.
   */
  async revokeInstance(orgId: string, instanceId: string, mode: 'delete' | 'test'): Promise<RevokeOutcome> {
    await requireConnection(this.db, orgId, instanceId);
    let revocation: RevocationTable | undefined;
    let grant: Grant | null = null;
    let def: ConnectorDefinition | null = null;
    await withConnectionLock(this.ctx, orgId, instanceId, async () => {
      // Re-read under the lock: a refresh that finished while we waited may have rotated the refresh token.
      const row = await requireConnection(this.db, orgId, instanceId);
      if (mode === 'test' && row.revoked === 1) {
        throw new PlugboardError('INSTANCE_REVOKED', `Instance ${instanceId} is already revoked; re-authenticate it with PATCH /instances/{id} and a new code before testing a revocation again.`);
      }
      def = await this.connectorOrNull(orgId, row.element_key);
      grant = await this.snapshot(orgId, row, def);
      const now = nowIso();
      const created = this.newRevocation(orgId, row, mode, null, grant, now);
      revocation = created;
      await this.db.transaction().execute(async (trx) => {
        await insertRevocations(trx, [created]);
        if (mode === 'delete') {
          await trx.deleteFrom('connections').where('org_id', '=', orgId).where('id', '=', instanceId).execute();
          await recordEvent(trx, orgId, { type: 'instance.deleted', instanceId, data: { element: row.element_key, revocationId: created.id } });
        } else {
          // Test revoke: the connection keeps its id, name, tags and configuration; only the grant goes.
          const revokedState = transition(stateOf(row), { kind: 'revoke' }).state;
          await updateConnection(trx, this.ctx.vault, orgId, instanceId, { ...stateColumns(revokedState), expires_at: null, refresh_failures: 0 }, { access_token: null, refresh_token: null }, now);
        }
      });
    });
    const created = revocation as unknown as RevocationTable;
    return this.settleInline(created, def, grant);
  }

  /** First provider attempt within the inline bound; anything unfinished becomes a background job. */
  private async settleInline(row: RevocationTable, def: ConnectorDefinition | null, grant: Grant | null): Promise<RevokeOutcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('inline bound reached')), this.settings.inlineBoundMs);
    let step: AttemptResult;
    try {
      const started = (await startAttempt(this.db, row.id, nowIso())) ?? row;
      step = await this.attempt(started, def, grant, controller.signal);
    } finally {
      clearTimeout(timer);
    }
    if (step.kind === 'finished') return this.toOutcome(row.instance_id, row.id, step.outcome, step.verified, false);
    const delay = controller.signal.aborted ? 0 : (step.outcome.retryAfterMs ?? backoffDelayMs(1, { baseMs: this.settings.backoffBaseMs, maxMs: this.settings.backoffMaxMs }));
    await this.enqueueRevocations([{ id: row.id, provider: row.element_key }], delay);
    const text = `The provider has not confirmed the revocation yet; it continues in the background (revocation ${row.id}). Plugboard's copy of the tokens is already destroyed.`;
    return this.toOutcome(row.instance_id, row.id, { ...step.outcome, message: { text, unregisterURL: step.outcome.message.unregisterURL } }, false, true);
  }

  private toOutcome(instanceId: string, revocationId: string, outcome: ProviderOutcome, verified: boolean, pending: boolean): RevokeOutcome {
    return {
      id: instanceId,
      revocationId,
      revoked: outcome.revoked,
      verified,
      pending,
      message: outcome.message,
      serviceResponse: { statusCode: outcome.statusCode, body: outcome.body ?? null },
    };
  }

  async enqueueRevocations(items: readonly { id: string; provider: string }[], delayMs = 0): Promise<void> {
    if (items.length === 0) return;
    await this.jobs.enqueueMany<RevokeJobData>(REVOKE_JOB, items.map((item) => ({
      data: { revocationId: item.id, provider: item.provider },
      options: { singletonKey: `revoke:${item.id}`, startAfter: delayMs },
    })));
  }

  // ---- one provider attempt -----------------------------------------------------------------------------------

  /** One provider attempt of a revocation whose attempt was already counted (`startAttempt`), recorded. */
  private async attempt(row: RevocationTable, def: ConnectorDefinition | null, grant: Grant | null, signal: AbortSignal): Promise<AttemptResult> {
    const step = await this.providerStep(row, def, grant, signal);
    if (step.kind === 'retry') {
      if (row.grant_batch_id !== null && grant !== null) {
        // Waiting for a retry must not keep the batch envelope (and the other grants in it) alive: own envelope.
        await noteRetries(this.db, [{ id: row.id, error: step.note, providerStatus: step.outcome.statusCode, attempts: row.attempts, sealedGrant: this.sealGrant(row.org_id, row.id, grant) }], nowIso(), [row.grant_batch_id]);
      } else {
        await noteRetry(this.db, row.id, step.note, step.outcome.statusCode, nowIso());
      }
      return { kind: 'retry', outcome: step.outcome };
    }
    await this.finish(row, step.outcome, step.verified, grant);
    return step;
  }

  /**
   * The provider side of one attempt, unrecorded: revoke, then verify when revoked. `retry` when the attempt was
   * transient (or cut short by `signal`) and the budget allows another; `note` is what the record keeps about it.
   */
  private async providerStep(row: RevocationTable, def: ConnectorDefinition | null, grant: Grant | null, signal: AbortSignal): Promise<ProviderStep> {
    const isLast = row.attempts >= this.settings.maxAttempts;
    let outcome: ProviderOutcome;
    if (def === null || grant === null) {
      outcome = manualStep(
        { text: `The connector ${row.element_key} is no longer known, so Plugboard cannot revoke this connection's access at the provider. Remove it by hand in the provider's connected-apps settings.`, unregisterURL: null },
        'connector unknown',
      );
    } else {
      try {
        outcome = await revokeAtProvider(def, grant, {
          timeoutMs: this.settings.requestTimeoutMs,
          signal,
          context: { orgId: row.org_id, connectionId: row.instance_id, trigger: 'revoke' },
          // An erasure keeps no execution history about the person it erases; delete and test revoke do.
          ...(row.reason === 'erasure' ? {} : { sink: executionSinkFor(this.ctx.store.db, this.ctx.config.executions) }),
        });
      } catch (error) {
        // A refused target (SSRF guard, plain HTTP) cannot succeed later: a manual step, not a retry.
        if (error instanceof PlugboardError && error.code === 'TARGET_FORBIDDEN') {
          outcome = { kind: 'done', revoked: false, verified: false, method: 'rfc7009', statusCode: null, body: null, message: { text: `${error.message} Remove the access by hand.`, unregisterURL: def.unregisterUrl }, error: error.code };
        } else {
          outcome = { kind: 'retry', revoked: false, verified: false, method: 'rfc7009', statusCode: null, body: null, message: { text: 'The revocation request failed.', unregisterURL: def.unregisterUrl }, error: error instanceof Error ? error.message : String(error) };
        }
      }
    }
    if (outcome.kind === 'retry' && !isLast) {
      const note = signal.aborted ? 'the provider did not answer within the inline bound' : (outcome.error ?? 'retry').slice(0, 500);
      return { kind: 'retry', outcome, note };
    }
    let verified = false;
    if (outcome.revoked && def !== null && grant !== null) {
      try {
        verified = await verifyRevoked(def, grant, { timeoutMs: this.settings.requestTimeoutMs, signal });
      } catch {
        verified = false;
      }
    }
    return { kind: 'finished', outcome, verified };
  }

  /** The receipt line of an ended revocation. */
  private resultOf(row: RevocationTable, outcome: ProviderOutcome, verified: boolean, grant: Grant | null): RevocationResult {
    return {
      status: outcome.revoked ? 'revoked' : outcome.method === 'manual' ? 'manual' : 'failed',
      revoked: outcome.revoked,
      verified,
      method: outcome.method,
      providerStatus: outcome.statusCode,
      // The receipt of an erasure keeps no provider body: it might echo personal data.
      providerBody: row.reason === 'erasure' ? null : storedBody(outcome.body, grant),
      messageText: outcome.revoked ? null : outcome.message.text,
      unregisterUrl: outcome.revoked ? null : outcome.message.unregisterURL,
      lastError: outcome.error === undefined ? null : outcome.error.slice(0, 500),
      attempts: row.attempts,
    };
  }

  private async finish(row: RevocationTable, outcome: ProviderOutcome, verified: boolean, grant: Grant | null): Promise<void> {
    const now = nowIso();
    const result = this.resultOf(row, outcome, verified, grant);
    const { finished, erasureCompleted } = await finishRevocation(this.db, row.id, result, now, row.grant_batch_id);
    if (finished && row.reason !== 'erasure' && (outcome.revoked || row.reason === 'test')) {
      await recordEvent(this.db, row.org_id, {
        type: 'instance.revoked',
        instanceId: row.instance_id,
        data: { revocationId: row.id, reason: row.reason, providerRevoked: outcome.revoked, verified, method: outcome.method, providerStatus: outcome.statusCode },
      });
    }
    if (erasureCompleted !== null) await this.recordErasureCompleted(erasureCompleted.orgId, erasureCompleted.id, erasureCompleted.status);
  }

  private async recordErasureCompleted(orgId: string, erasureId: string, status: ErasureStatus): Promise<void> {
    const totals = await erasureTotals(this.db, orgId, erasureId);
    await recordEvent(this.db, orgId, { type: 'erasure.completed', data: { erasureRequestId: erasureId, status, ...totals } });
  }

  /** The `revocation.revoke` job: one provider attempt for a pending revocation; throws to be retried. */
  private async runRevokeJob(data: RevokeJobData, job: JobContext): Promise<void> {
    // Counted before the provider call, so runs cut short by a crash count too and the budget stays bounded.
    const row = await startAttempt(this.db, data.revocationId, nowIso());
    if (row === undefined) return;
    const def = await this.connectorOrNull(row.org_id, row.element_key);
    const grant = (await this.grantsOf(row.org_id, [row])).get(row.id) ?? null;
    const step = await this.gate.run(row.element_key, () => this.attempt(row, def, grant, job.signal));
    if (step.kind === 'retry') {
      throw new JobRetryError(step.outcome.error ?? 'the provider asked to retry', step.outcome.retryAfterMs);
    }
  }

  // ---- erasure revocation batches ------------------------------------------------------------------------------

  /** One batch job per provider per slice of at most `erasureBatchSize` revocations. */
  async enqueueBatches(orgId: string, erasureId: string, items: readonly { id: string; element_key: string }[]): Promise<void> {
    const byProvider = new Map<string, string[]>();
    for (const item of items) {
      let ids = byProvider.get(item.element_key);
      if (ids === undefined) {
        ids = [];
        byProvider.set(item.element_key, ids);
      }
      ids.push(item.id);
    }
    const jobs: Array<{ data: BatchJobData }> = [];
    for (const [provider, ids] of byProvider) {
      for (let i = 0; i < ids.length; i += this.settings.erasureBatchSize) {
        jobs.push({ data: { orgId, erasureId, provider, revocationIds: ids.slice(i, i + this.settings.erasureBatchSize) } });
      }
    }
    if (jobs.length > 0) await this.jobs.enqueueMany<BatchJobData>(BATCH_JOB, jobs);
  }

  /**
   * The `erasure.revoke-batch` job: one statement reads the batch's still-pending revocations (ended rows are
   * skipped, so a redone batch only redoes what has no receipt line yet) and counts this attempt in memory, then each grant
   * envelope they name is opened once; provider calls run through the per-provider gate; receipt lines are written
   * `receiptFlushSize` per transaction (the whole batch by default), each dropping the grants of the rows it ends and
   * the envelopes no pending row names any more. Transient failures leave the batch as single revocation jobs, each
   * with its grant in its own envelope, with backoff or the provider's Retry-After.
   */
  private async runBatchJob(data: BatchJobData, job: JobContext): Promise<void> {
    const rows = await pendingRevocations(this.db, data.revocationIds);
    if (rows.length === 0) return;
    // This run is the batch's attempt number `job.attempt`, and a row that is still pending took part in every one
    // before it (a row that ended then is not pending now): its attempts count is what it had when batched plus that
    // number. Counted here and written with the row's outcome or retry, rather than by an UPDATE of the whole batch
    // before the calls, which on PostgreSQL rewrote every row and its index entries once more per batch.
    for (const row of rows) row.attempts += job.attempt;
    const def = await this.connectorOrNull(data.orgId, data.provider);
    const grantBatchIds = grantBatchIdsOf(rows);
    const grants = await this.grantsOf(data.orgId, rows, grantBatchIds);
    let finished: Array<{ id: string; result: RevocationResult }> = [];
    let retries: Array<{ row: RevocationTable; note: string; outcome: ProviderOutcome; grant: Grant | null }> = [];
    let writing: Promise<void> = Promise.resolve();
    const flush = (): void => {
      const ended = finished;
      const again = retries;
      finished = [];
      retries = [];
      // Writes are chained so receipt transactions of one batch never overlap; a failure surfaces at the end.
      writing = writing.then(() => this.recordBatch(data.erasureId, ended, again, grantBatchIds));
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (job.signal.aborted) return;
        const row = rows[next];
        if (row === undefined) return;
        rows[next] = undefined as unknown as RevocationTable;
        next += 1;
        const grant = grants.get(row.id) ?? null;
        grants.delete(row.id);
        const step = await this.gate.run(data.provider, async () => {
          const result = await this.providerStep(row, def, grant, job.signal);
          return result.kind === 'finished' ? { ...result, receipt: this.resultOf(row, result.outcome, result.verified, grant) } : result;
        });
        // A call cut short by a stopping runner is neither an outcome nor a retry: the redone batch makes it again.
        if (job.signal.aborted) return;
        if (step.kind === 'finished') finished.push({ id: row.id, result: step.receipt });
        else retries.push({ row, note: step.note, outcome: step.outcome, grant });
        if (finished.length + retries.length >= this.settings.receiptFlushSize) flush();
      }
    };
    const lanes = Math.min(this.settings.perProviderLimit, rows.length);
    const lanesDone = await Promise.allSettled(Array.from({ length: lanes }, () => worker()));
    // Whatever ended is recorded even when a lane failed, so the redone batch does not call those providers again.
    flush();
    await writing;
    const failed = lanesDone.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (job.signal.aborted) throw new JobRetryError('job runner stopping', 0);
  }

  /**
   * Writes one slice of a batch: receipt lines in one transaction, then the retries as single revocation jobs, each
   * with its grant in its own envelope. The batch envelopes go with the transaction that leaves no row naming them.
   */
  private async recordBatch(erasureId: string, ended: Array<{ id: string; result: RevocationResult }>, again: Array<{ row: RevocationTable; note: string; outcome: ProviderOutcome; grant: Grant | null }>, grantBatchIds: ReadonlySet<string>): Promise<void> {
    const now = nowIso();
    if (ended.length > 0) {
      const { erasureCompleted } = await finishErasureRevocations(this.db, erasureId, ended, now, grantBatchIds);
      if (erasureCompleted !== null) await this.recordErasureCompleted(erasureCompleted.orgId, erasureCompleted.id, erasureCompleted.status);
    }
    if (again.length === 0) return;
    await noteRetries(this.db, again.map(({ row, note, outcome, grant }) => ({
      id: row.id,
      error: note,
      providerStatus: outcome.statusCode,
      attempts: row.attempts,
      ...(row.grant_batch_id !== null && grant !== null ? { sealedGrant: this.sealGrant(row.org_id, row.id, grant) } : {}),
    })), now, grantBatchIds);
    const backoff = { baseMs: this.settings.backoffBaseMs, maxMs: this.settings.backoffMaxMs };
    for (const { row, outcome } of again) {
      await this.enqueueRevocations([{ id: row.id, provider: row.element_key }], outcome.retryAfterMs ?? backoffDelayMs(row.attempts, backoff));
    }
  }

  // ---- erasure ------------------------------------------------------------------------------------------------

  async createErasure(orgId: string, input: ErasureInput, requestedBy: string | null): Promise<ErasureRequestTable> {
    const given = [input.externalUserId, input.instanceIds, input.tag].filter((v) => v !== undefined).length;
    if (given !== 1) {
      throw new PlugboardError('VALIDATION_FAILED', 'An erasure request names exactly one subject: externalUserId, instanceIds or tag.', {
        details: [{ path: 'body', message: `expected exactly one of externalUserId, instanceIds, tag; got ${given}` }],
      });
    }
    const now = nowIso();
    const row: ErasureRequestTable = {
      id: newId(),
      org_id: orgId,
      subject_kind: input.externalUserId !== undefined ? 'externalUserId' : input.tag !== undefined ? 'tag' : 'instanceIds',
      subject: input.externalUserId ?? input.tag ?? null,
      subject_hash: input.externalUserId !== undefined && this.settings.hashExternalIds ? hashSubject(orgId, input.externalUserId) : null,
      instance_ids: input.instanceIds === undefined ? null : JSON.stringify([...new Set(input.instanceIds)]),
      status: 'pending',
      total: 0,
      remaining: 0,
      enumerated: 0,
      requested_by: requestedBy,
      created_at: now,
      started_at: null,
      completed_at: null,
    };
    await insertErasureRequest(this.db, row);
    await this.jobs.enqueue<ErasureJobData>(ERASURE_JOB, { orgId, erasureId: row.id }, { singletonKey: `erasure:${row.id}` });
    return row;
  }

  /** Connections of the request not yet collected. */
  private async matching(orgId: string, request: ErasureRequestTable, limit: number): Promise<GrantRow[]> {
    let query = this.db.selectFrom('connections').select(GRANT_COLUMNS).where('org_id', '=', orgId);
    if (request.subject_kind === 'externalUserId') {
      if (request.subject === null) return [];
      query = query.where('external_user_id', '=', request.subject);
    } else if (request.subject_kind === 'tag') {
      if (request.subject === null) return [];
      query = query.where('id', 'in', this.db.selectFrom('connection_tags').select('connection_id').where('org_id', '=', orgId).where('tag', '=', request.subject));
    } else {
      const ids = JSON.parse(request.instance_ids ?? '[]') as string[];
      if (ids.length === 0) return [];
      query = query.where('id', 'in', ids);
    }
    // No ORDER BY: collected rows are deleted, so the next batch simply takes whatever matches still.
    return query.limit(limit).execute();
  }

  /**
   * Erases one batch atomically: deletes the connections (secrets, configuration, tags) that are not leased by a
   * refresh in flight and unchanged since they were read, their events and executions, and inserts their pending
   * revocations with their grants sealed in envelopes of up to GRANTS_PER_ENVELOPE. Returns the revocations created.
   */
  private async eraseBatch(orgId: string, request: ErasureRequestTable, rows: GrantRow[]): Promise<RevocationTable[]> {
    const now = nowIso();
    const prepared: Array<{ row: GrantRow; revocation: RevocationTable; grant: Grant | null }> = [];
    const defs = new Map<string, ConnectorDefinition | null>();
    // Time-ordered ids: the batch's revocations go to neighbouring index pages (and are updated there once more).
    const ids = newOrderedIds(rows.length);
    let n = 0;
    for (const row of rows) {
      if (row.lease_owner !== null && row.lease_until !== null && row.lease_until >= now) continue;
      if (!defs.has(row.element_key)) defs.set(row.element_key, await this.connectorOrNull(orgId, row.element_key));
      const grant = await this.snapshot(orgId, row, defs.get(row.element_key) ?? null);
      prepared.push({ row, revocation: this.newRevocation(orgId, row, 'erasure', request.id, grant, now, ids[n++]), grant });
    }
    if (prepared.length === 0) return [];
    const dialect = this.ctx.store.dialect;
    return this.db.transaction().execute(async (trx) => {
      // Only rows still exactly as snapshotted and not leased: a refresh that slipped in keeps its row for a later
      // pass. One DELETE by primary key and `updated_at` (row-locking on PostgreSQL) decides which rows go.
      const gone = await deleteUnchangedConnections(trx, dialect, orgId, prepared.map(({ row }) => ({ id: row.id, updatedAt: row.updated_at })), now);
      if (gone.size === 0) return [];
      // The grants of exactly the connections erased (never one of a connection that stays), sealed together in
      // envelopes of at most GRANTS_PER_ENVELOPE: one seal and one open per envelope, and each small enough that
      // sealing, storing and opening it never needs a large allocation (those fragment the process's native heap).
      const created: RevocationTable[] = [];
      let envelope: { id: string; grants: Record<string, Grant>; size: number } | null = null;
      const envelopes: Array<{ id: string; grants: Record<string, Grant> }> = [];
      for (const { row, revocation, grant } of prepared) {
        if (!gone.has(row.id)) continue;
        if (grant !== null) {
          if (envelope === null || envelope.size === GRANTS_PER_ENVELOPE) {
            envelope = { id: newId(), grants: {}, size: 0 };
            envelopes.push(envelope);
          }
          envelope.grants[revocation.id] = grant;
          envelope.size += 1;
          revocation.grant_batch_id = envelope.id;
        }
        created.push(revocation);
      }
      for (const { id, grants } of envelopes) {
        await insertGrantBatch(trx, { id, org_id: orgId, erasure_id: request.id, sealed_grants: this.sealGrants(orgId, id, grants), created_at: now });
      }
      await deleteConnectionTraces(trx, dialect, orgId, created.map((r) => r.instance_id));
      await insertRevocationRows(trx, dialect, created);
      await trx
        .updateTable('erasure_requests')
        .set((eb) => ({ total: eb('total', '+', created.length), remaining: eb('remaining', '+', created.length) }))
        .where('id', '=', request.id)
        .execute();
      return created;
    });
  }

  /** The `erasure.run` job: collect and erase in batches, fan out revocations, then complete when nothing is left. */
  private async runErasureJob(data: ErasureJobData, job: JobContext): Promise<void> {
    let request = await getErasureRequest(this.db, data.orgId, data.erasureId);
    if (request === undefined) return;
    if (request.status === 'pending') {
      await this.db.updateTable('erasure_requests').set({ status: 'running', started_at: nowIso() }).where('id', '=', request.id).where('status', '=', 'pending').execute();
      request = { ...request, status: 'running' };
    }
    // A redone run re-batches whatever is still pending: revocations its crashed predecessor created may have missed
    // their batch job. That is at-least-once (a batch whose job did survive may run twice; receipts still end each row
    // exactly once).
    let batchPending = job.attempt > 1;
    // Where the store works in another process (PostgreSQL), the provider calls of a collected slice start at once and
    // overlap the server's work on the next slices (18% more throughput at 100,000). Where it works on this thread
    // (SQLite), they start once collection has ended: interleaving the two phases on one thread costs more than it
    // saves (about a fifth more CPU per connection, mostly garbage collection, for no shorter request).
    const overlap = this.ctx.store.dialect === 'postgres';
    if (request.enumerated === 0) {
      let idle = 0;
      for (;;) {
        if (job.signal.aborted) throw new JobRetryError('stopping', 0);
        const rows = await this.matching(data.orgId, request, this.settings.collectionBatchSize);
        if (rows.length === 0) break;
        const created = await this.eraseBatch(data.orgId, request, rows);
        if (overlap) await this.enqueueBatches(data.orgId, request.id, created);
        // On SQLite every store call completes synchronously, so this loop would otherwise run to its end in
        // microtasks, and API requests and timers would wait for it.
        await nextTurn();
        if (created.length === 0) {
          // Every matching connection is leased by a refresh in flight: wait for the leases to end.
          idle += 1;
          if (idle > 600) throw new JobRetryError('matching connections stay leased by token refreshes', 5_000);
          await new Promise((resolve) => setTimeout(resolve, 100));
        } else {
          idle = 0;
        }
      }
      await this.db
        .updateTable('erasure_requests')
        .set({ enumerated: 1, ...(request.subject_hash !== null ? { subject: null } : {}) })
        .where('id', '=', request.id)
        .execute();
      batchPending ||= !overlap;
    }
    if (batchPending) {
      // Pending revocations go to batch jobs read back from the store in id order (so memory does not grow with the
      // request): after collection on SQLite, and in any redone run.
      let after: string | null = null;
      for (;;) {
        const page = await pendingErasureRevocations(this.db, request.id, after, this.settings.erasureBatchSize);
        if (page.length === 0) break;
        await this.enqueueBatches(data.orgId, request.id, page);
        after = page[page.length - 1]?.id ?? null;
      }
    }
    const status = await completeErasure(this.db, data.orgId, request.id, nowIso());
    if (status !== null) await this.recordErasureCompleted(data.orgId, request.id, status);
  }

  /**
   * Re-enqueues revocations and erasure requests orphaned by a crash (a process that died after writing the pending
   * row but before its job existed). Idempotent: singleton keys drop duplicates of jobs still queued or running.
   */
  async recover(): Promise<number> {
    const cutoff = new Date(Date.now() - this.settings.recoveryAfterMs).toISOString();
    let count = 0;
    // Erasure revocations waiting for a batch job look orphaned too: collected ones wait for their run's collection to
    // end, batched ones for their batch. While erasure runs or batches are queued or running, leave erasure items to
    // them (a redone erasure run re-batches real orphans) and sweep the others only.
    const [batches, runs] = await Promise.all([this.jobs.counts(BATCH_JOB), this.jobs.counts(ERASURE_JOB)]);
    const batchesBusy = batches.queued + batches.active + runs.queued + runs.active > 0;
    let after: string | null = null;
    for (;;) {
      // Pending rows only, in id order (the partial index `revocations_pending_idx`); erasure items are skipped here
      // rather than in SQL, where an `erasure_id IS NULL` condition would send the planner through every ended
      // revocation of a deleted connection instead.
      let query = this.db.selectFrom('revocations').select(['id', 'element_key', 'erasure_id']).where('status', '=', 'pending').where('updated_at', '<', cutoff);
      if (after !== null) query = query.where('id', '>', after);
      const rows = await query.orderBy('id').limit(1000).execute();
      if (rows.length === 0) break;
      const orphans = batchesBusy ? rows.filter((r) => r.erasure_id === null) : rows;
      await this.enqueueRevocations(orphans.map((r) => ({ id: r.id, provider: r.element_key })));
      count += orphans.length;
      after = rows[rows.length - 1]?.id ?? null;
    }
    const stuck = await this.db.selectFrom('erasure_requests').select(['id', 'org_id']).where('status', 'in', ['pending', 'running']).where('created_at', '<', cutoff).execute();
    for (const request of stuck) {
      await this.jobs.enqueue<ErasureJobData>(ERASURE_JOB, { orgId: request.org_id, erasureId: request.id }, { singletonKey: `erasure:${request.id}` });
    }
    return count + stuck.length;
  }
}

type AttemptResult = { kind: 'finished'; outcome: ProviderOutcome; verified: boolean } | { kind: 'retry'; outcome: ProviderOutcome };
type ProviderStep = { kind: 'finished'; outcome: ProviderOutcome; verified: boolean } | { kind: 'retry'; outcome: ProviderOutcome; note: string };

export function revocationOutcomeView(row: RevocationTable): { statusCode: number | null; body: unknown } {
  return { statusCode: row.provider_status, body: parseStoredBody(row.provider_body) };
}

const services = new WeakMap<AppContext, RevocationService>();

/** The revocation service of an app context (one per context; created by the installer). */
export function revocationService(ctx: AppContext): RevocationService {
  let service = services.get(ctx);
  if (service === undefined) {
    service = new RevocationService(ctx);
    services.set(ctx, service);
  }
  return service;
}

export function installRevocationService(ctx: AppContext, settings: Partial<RevocationSettings>): RevocationService {
  const service = new RevocationService(ctx, settings);
  services.set(ctx, service);
  return service;
}

/**
 * The revocations and erasure-requests repository (migration 0006). Every function takes the organization first and
 * scopes its query to it, except the job-side readers that receive ids from a job the organization's own request
 * created (`*ById`), which still return the organization with the row. A revocation row ends exactly once: `finish`
 * moves it from `pending` with one conditional UPDATE, and only the caller that made that move decrements its erasure
 * request's `remaining` counter, so at-least-once job delivery never double-counts.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type RevocationReason = 'delete' | 'test' | 'erasure';
export type RevocationStatus = 'pending' | 'revoked' | 'failed' | 'manual';
export type RevocationMethod = 'flow' | 'rfc7009' | 'manual';
export type ErasureStatus = 'pending' | 'running' | 'completed' | 'completed_with_manual_steps';
export type ErasureSubjectKind = 'externalUserId' | 'instanceIds' | 'tag';

export interface RevocationTable {
  id: string;
  org_id: string;
  instance_id: string;
  erasure_id: string | null;
  element_key: string;
  reason: RevocationReason;
  status: RevocationStatus;
  revoked: number;
  verified: number;
  method: RevocationMethod | null;
  provider_status: number | null;
  provider_body: string | null;
  message_text: string | null;
  unregister_url: string | null;
  attempts: number;
  last_error: string | null;
  sealed_grant: string | null;
  /** While pending: the `revocation_grant_batches` envelope holding this revocation's grant (instead of `sealed_grant`). */
  grant_batch_id: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

/** The sealed grants of one erasure batch (migration 0008); deleted once no pending revocation names it. */
export interface RevocationGrantBatchTable {
  id: string;
  org_id: string;
  erasure_id: string;
  sealed_grants: string;
  created_at: string;
}

export interface ErasureRequestTable {
  id: string;
  org_id: string;
  subject_kind: ErasureSubjectKind;
  subject: string | null;
  subject_hash: string | null;
  instance_ids: string | null;
  status: ErasureStatus;
  total: number;
  remaining: number;
  enumerated: number;
  requested_by: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export interface RevocationTables {
  revocations: RevocationTable;
  erasure_requests: ErasureRequestTable;
  revocation_grant_batches: RevocationGrantBatchTable;
}

type Db = Kysely<Database>;

export async function insertRevocations(db: Db, rows: readonly RevocationTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    await db.insertInto('revocations').values(rows.slice(i, i + 200)).execute();
  }
}

export async function getRevocationById(db: Db, id: string): Promise<RevocationTable | undefined> {
  return db.selectFrom('revocations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Counts a new provider attempt of a pending revocation and returns the row; undefined when it already ended. */
export async function startAttempt(db: Db, id: string, now: string): Promise<RevocationTable | undefined> {
  return db.updateTable('revocations').set({ attempts: sql<number>`attempts + 1`, updated_at: now }).where('id', '=', id).where('status', '=', 'pending').returningAll().executeTakeFirst();
}

/**
 * The still-pending revocations among `ids` (with their sealed grants): the checkpoint of a batch, since ended rows
 * are not returned again. A read, not a write: the batch's attempt is counted when its rows end (see runBatchJob).
 */
export async function pendingRevocations(db: Db, ids: readonly string[]): Promise<RevocationTable[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('revocations').selectAll().where('id', 'in', [...ids]).where('status', '=', 'pending').execute();
}

export async function noteRetry(db: Db, id: string, error: string, providerStatus: number | null, now: string): Promise<void> {
  await db.updateTable('revocations').set({ last_error: error, provider_status: providerStatus, updated_at: now }).where('id', '=', id).where('status', '=', 'pending').execute();
}

export interface RevocationResult {
  status: Exclude<RevocationStatus, 'pending'>;
  revoked: boolean;
  verified: boolean;
  method: RevocationMethod;
  providerStatus: number | null;
  providerBody: string | null;
  messageText: string | null;
  unregisterUrl: string | null;
  lastError: string | null;
  /** Provider attempts, this one included. */
  attempts: number;
}

/**
 * Deletes the grant envelopes among `ids` that no pending revocation names any more (their last revocation ended or
 * moved to its own envelope). Run in the transaction that cleared those names.
 */
export async function dropSettledGrantBatches(db: Db, ids: Iterable<string>): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  await db
    .deleteFrom('revocation_grant_batches')
    .where('id', 'in', unique)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('revocations').select('revocations.id').whereRef('revocations.grant_batch_id', '=', 'revocation_grant_batches.id'))))
    .execute();
}

/**
 * Ends a pending revocation and drops its sealed grant (its own envelope, and the batch envelope `grantBatchId` once no
 * pending revocation names it). Returns false when it had already ended (a duplicate run).
 * For an erasure item, decrements the request's counter in the same transaction and completes the request when it
 * reaches zero; returns the erasure id completed, if any.
 */
export async function finishRevocation(db: Db, id: string, result: RevocationResult, now: string, grantBatchId: string | null = null): Promise<{ finished: boolean; erasureCompleted: { id: string; orgId: string; status: ErasureStatus } | null }> {
  return db.transaction().execute(async (trx) => {
    const update = await trx
      .updateTable('revocations')
      .set(resultColumns(result, now))
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returning(['erasure_id', 'org_id'])
      .executeTakeFirst();
    if (update === undefined) return { finished: false, erasureCompleted: null };
    await dropSettledGrantBatches(trx, grantBatchId === null ? [] : [grantBatchId]);
    if (update.erasure_id === null) return { finished: true, erasureCompleted: null };
    const counter = await trx
      .updateTable('erasure_requests')
      .set({ remaining: sql<number>`remaining - 1` })
      .where('id', '=', update.erasure_id)
      .returning(['remaining', 'status'])
      .executeTakeFirst();
    if (counter === undefined || counter.remaining > 0 || counter.status !== 'running') return { finished: true, erasureCompleted: null };
    // completeErasure also requires enumeration to be over, so a request is never completed half-collected.
    const status = await completeErasure(trx, update.org_id, update.erasure_id, now);
    return { finished: true, erasureCompleted: status === null ? null : { id: update.erasure_id, orgId: update.org_id, status } };
  });
}

function resultColumns(result: RevocationResult, now: string) {
  return {
    status: result.status,
    revoked: result.revoked ? 1 : 0,
    verified: result.verified ? 1 : 0,
    method: result.method,
    provider_status: result.providerStatus,
    provider_body: result.providerBody,
    message_text: result.messageText,
    unregister_url: result.unregisterUrl,
    last_error: result.lastError,
    attempts: result.attempts,
    sealed_grant: null,
    grant_batch_id: null,
    updated_at: now,
    completed_at: now,
  };
}

/**
 * Ends many pending revocations of one erasure request in one transaction: rows with the same result share one
 * UPDATE (an erasure's results are nearly all alike), the request's counter drops by the number of rows this call
 * really ended (duplicates of an at-least-once redo count zero), and the request completes when it reaches zero. The
 * batch envelopes in `grantBatchIds` are deleted in the same transaction once no pending revocation names them.
 */
export async function finishErasureRevocations(db: Db, erasureId: string, items: readonly { id: string; result: RevocationResult }[], now: string, grantBatchIds: Iterable<string> = []): Promise<{ finished: number; erasureCompleted: { id: string; orgId: string; status: ErasureStatus } | null }> {
  if (items.length === 0) return { finished: 0, erasureCompleted: null };
  const groups = new Map<string, { result: RevocationResult; ids: string[] }>();
  for (const item of items) {
    const key = JSON.stringify(item.result);
    let group = groups.get(key);
    if (group === undefined) {
      group = { result: item.result, ids: [] };
      groups.set(key, group);
    }
    group.ids.push(item.id);
  }
  // By primary key only: a condition on erasure_id would let SQLite pick the (erasure_id, status) index and scan
  // every pending row of the request on each call. The ids come from this request's own batch.
  return db.transaction().execute(async (trx) => {
    let finished = 0;
    for (const group of groups.values()) {
      const update = await trx.updateTable('revocations').set(resultColumns(group.result, now)).where('id', 'in', group.ids).where('status', '=', 'pending').executeTakeFirst();
      finished += Number(update.numUpdatedRows);
    }
    await dropSettledGrantBatches(trx, grantBatchIds);
    if (finished === 0) return { finished, erasureCompleted: null };
    const counter = await trx
      .updateTable('erasure_requests')
      .set({ remaining: sql<number>`remaining - ${finished}` })
      .where('id', '=', erasureId)
      .returning(['remaining', 'status', 'org_id'])
      .executeTakeFirst();
    if (counter === undefined || counter.remaining > 0 || counter.status !== 'running') return { finished, erasureCompleted: null };
    const status = await completeErasure(trx, counter.org_id, erasureId, now);
    return { finished, erasureCompleted: status === null ? null : { id: erasureId, orgId: counter.org_id, status } };
  });
}

/**
 * Records a transient failure for many pending revocations at once (they continue as retry jobs). A revocation whose
 * grant was in a batch envelope gets its own (`sealedGrant`) in the same transaction, and the envelopes in
 * `grantBatchIds` are deleted once no pending revocation names them.
 */
export async function noteRetries(db: Db, items: readonly { id: string; error: string; providerStatus: number | null; attempts: number; sealedGrant?: string }[], now: string, grantBatchIds: Iterable<string> = []): Promise<void> {
  if (items.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const item of items) {
      const own = item.sealedGrant === undefined ? {} : { sealed_grant: item.sealedGrant, grant_batch_id: null };
      await trx.updateTable('revocations').set({ last_error: item.error, provider_status: item.providerStatus, attempts: item.attempts, updated_at: now, ...own }).where('id', '=', item.id).where('status', '=', 'pending').execute();
    }
    await dropSettledGrantBatches(trx, grantBatchIds);
  });
}

/** One keyset page of an erasure request's pending revocations: ids and providers, for handing them to batch jobs. */
export async function pendingErasureRevocations(db: Db, erasureId: string, afterId: string | null, limit: number): Promise<{ id: string; element_key: string }[]> {
  let query = db.selectFrom('revocations').select(['id', 'element_key']).where('erasure_id', '=', erasureId).where('status', '=', 'pending');
  if (afterId !== null) query = query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit).execute();
}

/** Marks a running erasure request completed when nothing remains; returns its final status, or null if not done. */
export async function completeErasure(db: Db, orgId: string, erasureId: string, now: string): Promise<ErasureStatus | null> {
  const manual = await db
    .selectFrom('revocations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('erasure_id', '=', erasureId)
    .where('revoked', '=', 0)
    .executeTakeFirstOrThrow();
  const status: ErasureStatus = Number(manual.n) > 0 ? 'completed_with_manual_steps' : 'completed';
  const done = await db
    .updateTable('erasure_requests')
    .set({ status, completed_at: now })
    .where('org_id', '=', orgId)
    .where('id', '=', erasureId)
    .where('status', '=', 'running')
    .where('enumerated', '=', 1)
    .where('remaining', '<=', 0)
    .executeTakeFirst();
  return Number(done.numUpdatedRows) === 1 ? status : null;
}

export async function insertErasureRequest(db: Db, row: ErasureRequestTable): Promise<void> {
  await db.insertInto('erasure_requests').values(row).execute();
}

export async function getErasureRequest(db: Db, orgId: string, id: string): Promise<ErasureRequestTable | undefined> {
  return db.selectFrom('erasure_requests').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
}

export async function listErasureRequests(db: Db, orgId: string, limit: number, before: { createdAt: string; id: string } | null): Promise<ErasureRequestTable[]> {
  let query = db.selectFrom('erasure_requests').selectAll().where('org_id', '=', orgId);
  if (before !== null) {
    query = query.where((eb) => eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]));
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

export async function erasureItems(db: Db, orgId: string, erasureId: string, limit: number, afterId: string | null): Promise<RevocationTable[]> {
  let query = db.selectFrom('revocations').selectAll().where('org_id', '=', orgId).where('erasure_id', '=', erasureId);
  if (afterId !== null) query = query.where('id', '>', afterId);
  return query.orderBy('id').limit(limit).execute();
}

export interface ErasureTotals {
  connections: number;
  pending: number;
  revoked: number;
  verified: number;
  failed: number;
  manual: number;
}

export async function erasureTotals(db: Db, orgId: string, erasureId: string): Promise<ErasureTotals> {
  const rows = await db
    .selectFrom('revocations')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('verified').as('verified')])
    .where('org_id', '=', orgId)
    .where('erasure_id', '=', erasureId)
    .groupBy('status')
    .execute();
  const totals: ErasureTotals = { connections: 0, pending: 0, revoked: 0, verified: 0, failed: 0, manual: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    totals.connections += n;
    totals[row.status] += n;
    totals.verified += Number(row.verified ?? 0);
  }
  return totals;
}

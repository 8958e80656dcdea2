/**
 * The executions repository: flow execution history, tenant-scoped. `storeExecutionSink` is the flow engine's
 * ExecutionSink backed by the store: it writes each finished execution (already redacted by the engine) with its card
 * records in one transaction, and prunes the organization's history now and then so it stays bounded by age and by
 * count. `listExecutions` (newest first, cursor pagination) and `getExecution` serve `GET /executions` and
 * `GET /executions/{id}`.
 */
import type { Kysely } from 'kysely';
import { PlugboardError } from '../core/errors.ts';
import type { CardRecord, ExecutionRecord, ExecutionSink, RecordedError } from '../flows/index.ts';
import type { Database } from './schema.ts';
import { decodeCursor, nextCursorOf } from './cursor.ts';

export interface ExecutionTable {
  id: string;
  org_id: string;
  connection_id: string | null;
  connector_key: string;
  flow: string;
  flow_kind: string;
  /** `succeeded` or `failed`. */
  status: string;
  /** What started the run: `api`, `cli`, `authping`, `revoke`, ... (from the record's context). */
  trigger: string | null;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  cards_executed: number;
  save_data: number;
  /** JSON, redacted; null when the flow does not save its data. */
  inputs: string | null;
  outputs: string | null;
  error_code: string | null;
  /** JSON `{ code, message, details? }`, redacted. */
  error: string | null;
  /** JSON object of non-secret labels (orgId, connectionId, ...). */
  context: string;
}

export interface ExecutionCardTable {
  execution_id: string;
  org_id: string;
  seq: number;
  flow: string;
  card: string;
  card_id: string | null;
  type: string;
  depth: number;
  started_at: string;
  duration_ms: number;
  inputs: string | null;
  outputs: string | null;
  error: string | null;
}

export interface ExecutionsTables {
  executions: ExecutionTable;
  execution_cards: ExecutionCardTable;
}

type Db = Kysely<Database>;

export interface RetentionPolicy {
  /** Executions older than this are deleted. */
  retentionDays: number;
  /** At most this many executions are kept per organization (the newest). */
  maxPerOrg: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = Object.freeze({ retentionDays: 30, maxPerOrg: 10_000 });

export interface ExecutionSummary {
  id: string;
  connectionId: string | null;
  connectorKey: string;
  flow: string;
  flowKind: string;
  status: 'succeeded' | 'failed';
  trigger: string | null;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  cardsExecuted: number;
  saveData: boolean;
  error: RecordedError | null;
}

export interface ExecutionDetail extends ExecutionSummary {
  inputs: unknown;
  outputs: unknown;
  context: Record<string, string>;
  cards: CardRecord[];
}

export interface ExecutionFilter {
  connectionId?: string | undefined;
  flow?: string | undefined;
  status?: 'succeeded' | 'failed' | undefined;
  /** Inclusive lower bound of startedAt (ISO-8601 UTC). */
  from?: string | undefined;
  /** Exclusive upper bound of startedAt (ISO-8601 UTC). */
  to?: string | undefined;
}

export interface ExecutionPage {
  items: ExecutionSummary[];
  nextCursor: string | null;
}

/** Card rows per INSERT: keeps every statement well under SQLite's and PostgreSQL's bind-parameter limits. */
const CARD_BATCH = 200;

export async function insertExecution(db: Db, orgId: string, record: ExecutionRecord): Promise<void> {
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('executions')
      .values({
        id: record.id,
        org_id: orgId,
        connection_id: record.context.connectionId ?? null,
        connector_key: record.connectorKey,
        flow: record.flow,
        flow_kind: record.flowKind,
        status: record.status,
        trigger: record.context.trigger ?? null,
        started_at: record.startedAt,
        finished_at: record.finishedAt,
        duration_ms: record.durationMs,
        cards_executed: record.cardsExecuted,
        save_data: record.saveData ? 1 : 0,
        inputs: record.saveData ? json(record.inputs) : null,
        outputs: record.saveData ? json(record.outputs) : null,
        error_code: record.error?.code ?? null,
        error: json(record.error),
        context: JSON.stringify(record.context),
      })
      .execute();
    for (let i = 0; i < record.cards.length; i += CARD_BATCH) {
      const rows = record.cards.slice(i, i + CARD_BATCH).map((card) => ({
        execution_id: record.id,
        org_id: orgId,
        seq: card.seq,
        flow: card.flow,
        card: card.card,
        card_id: card.cardId,
        type: card.type,
        depth: card.depth,
        started_at: card.startedAt,
        duration_ms: card.durationMs,
        inputs: json(card.inputs),
        outputs: json(card.outputs),
        error: json(card.error),
      }));
      await trx.insertInto('execution_cards').values(rows).execute();
    }
  });
}

function summaryOf(row: ExecutionTable): ExecutionSummary {
  return {
    id: row.id,
    connectionId: row.connection_id,
    connectorKey: row.connector_key,
    flow: row.flow,
    flowKind: row.flow_kind,
    status: row.status === 'succeeded' ? 'succeeded' : 'failed',
    trigger: row.trigger,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: Number(row.duration_ms),
    cardsExecuted: Number(row.cards_executed),
    saveData: Number(row.save_data) === 1,
    error: row.error === null ? null : (JSON.parse(row.error) as RecordedError),
  };
}

const parseJson = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

/** One organization's executions, newest first. */
export async function listExecutions(db: Db, orgId: string, filter: ExecutionFilter, page: { limit: number; cursor?: string | undefined }): Promise<ExecutionPage> {
  let query = db.selectFrom('executions').selectAll().where('org_id', '=', orgId);
  if (filter.connectionId !== undefined) query = query.where('connection_id', '=', filter.connectionId);
  if (filter.flow !== undefined) query = query.where('flow', '=', filter.flow);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.from !== undefined) query = query.where('started_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('started_at', '<', filter.to);
  if (page.cursor !== undefined) {
    const after = decodeCursor(page.cursor);
    query = query.where((eb) => eb.or([eb('started_at', '<', after.time), eb.and([eb('started_at', '=', after.time), eb('id', '<', after.id)])]));
  }
  const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(page.limit + 1).execute();
  const items = rows.slice(0, page.limit).map(summaryOf);
  return { items, nextCursor: nextCursorOf(rows, page.limit, (row) => ({ time: row.started_at, id: row.id })) };
}

/** One execution with its card records, or undefined when it is not this organization's. */
export async function getExecution(db: Db, orgId: string, id: string): Promise<ExecutionDetail | undefined> {
  const row = await db.selectFrom('executions').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  const cards = await db.selectFrom('execution_cards').selectAll().where('org_id', '=', orgId).where('execution_id', '=', id).orderBy('seq').execute();
  return {
    ...summaryOf(row),
    inputs: parseJson(row.inputs),
    outputs: parseJson(row.outputs),
    context: JSON.parse(row.context) as Record<string, string>,
    cards: cards.map((card) => ({
      seq: Number(card.seq),
      flow: card.flow,
      card: card.card,
      cardId: card.card_id,
      type: card.type,
      depth: Number(card.depth),
      startedAt: card.started_at,
      durationMs: Number(card.duration_ms),
      inputs: parseJson(card.inputs),
      outputs: parseJson(card.outputs),
      error: parseJson(card.error) as RecordedError | null,
    })),
  };
}

/**
 * Deletes an organization's executions older than the retention period and beyond the newest `maxPerOrg`. Card rows
 * go first, explicitly: the store does not rely on cascading deletes being enabled.
 */
export async function pruneExecutions(db: Db, orgId: string, policy: RetentionPolicy, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - policy.retentionDays * 86_400_000).toISOString();
  const boundary = await db
    .selectFrom('executions')
    .select(['started_at', 'id'])
    .where('org_id', '=', orgId)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .offset(policy.maxPerOrg)
    .limit(1)
    .executeTakeFirst();
  return db.transaction().execute(async (trx) => {
    const doomed = trx
      .selectFrom('executions')
      .select('id')
      .where('org_id', '=', orgId)
      .where((eb) => {
        const old = eb('started_at', '<', cutoff);
        if (boundary === undefined) return old;
        return eb.or([old, eb('started_at', '<', boundary.started_at), eb.and([eb('started_at', '=', boundary.started_at), eb('id', '<=', boundary.id)])]);
      });
    await trx.deleteFrom('execution_cards').where('org_id', '=', orgId).where('execution_id', 'in', doomed).execute();
    const result = await trx.deleteFrom('executions').where('org_id', '=', orgId).where('id', 'in', doomed).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

export interface StoreSinkOptions {
  /** The policy, or a function read at each prune (so a shared sink follows configuration). */
  retention?: RetentionPolicy | (() => RetentionPolicy);
  /** Prune an organization's history at most this often per process. */
  pruneEveryMs?: number;
}

/**
 * The flow engine's sink backed by the store. Each record must carry `context.orgId` (the tenant); an execution
 * without one is refused rather than stored unscoped.
 */
export function storeExecutionSink(db: Db, options: StoreSinkOptions = {}): ExecutionSink {
  const retention = typeof options.retention === 'function' ? options.retention : () => (options.retention as RetentionPolicy | undefined) ?? DEFAULT_RETENTION;
  const pruneEveryMs = options.pruneEveryMs ?? 60_000;
  const lastPruned = new Map<string, number>();
  return {
    async write(record: ExecutionRecord): Promise<void> {
      const orgId = record.context.orgId;
      if (orgId === undefined || orgId === '') {
        throw new PlugboardError('INTERNAL', 'An execution record reached the store without context.orgId; history is tenant-scoped.');
      }
      await insertExecution(db, orgId, record);
      const now = Date.now();
      if (now - (lastPruned.get(orgId) ?? 0) >= pruneEveryMs) {
        lastPruned.set(orgId, now);
        await pruneExecutions(db, orgId, retention(), now);
      }
    },
  };
}


const sinksByDatabase = new WeakMap<object, { sink: ExecutionSink; retention: RetentionPolicy }>();

/**
 * The one store sink of an application (per database handle), so retention pruning is paced per process rather than
 * per caller. Every area that runs flows passes this as `sink`, e.g.
 * `executionSinkFor(ctx.store.db, ctx.config.executions)`; a caller that gives a policy sets it for all.
 */
export function executionSinkFor(db: Db, retention?: RetentionPolicy): ExecutionSink {
  let entry = sinksByDatabase.get(db);
  if (entry === undefined) {
    const holder: { sink: ExecutionSink; retention: RetentionPolicy } = { sink: { write: async () => undefined }, retention: retention ?? DEFAULT_RETENTION };
    holder.sink = storeExecutionSink(db, { retention: () => holder.retention });
    entry = holder;
    sinksByDatabase.set(db, entry);
  } else if (retention !== undefined) {
    entry.retention = retention;
  }
  return entry.sink;
}

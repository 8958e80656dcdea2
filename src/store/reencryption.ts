/**
 * Key rotation without downtime, the background half. After `plugboard keys rotate` adds a data-key version and it
 * activates, this task walks every registered sealed column (sealed-columns.ts), re-seals rows still on an older
 * version in small batches (each update is conditional on the old value, so a concurrent write always wins), and
 * retires an old version once no row uses it and a grace period has passed (a seal begun just before activation may
 * land late). Safe to run in several processes at once. It is a system task: it reads every organization's rows,
 * and each re-seal uses that row's own binding.
 */
import type { Kysely } from 'kysely';
import type { AppContext, Service } from '../context.ts';
import { envelopePrefix } from '../crypto/vault.ts';
import { sealedColumns, type SealedColumn } from './sealed-columns.ts';
import { listKeyVersions, recordRowsRemaining, retireKeyVersion } from './keyring.ts';

export const BATCH_SIZE = 100;

export interface ReencryptionReport {
  resealed: number;
  retired: number[];
  remaining: Record<number, number>;
}

async function resealBatch(ctx: AppContext, db: Kysely<any>, column: SealedColumn, version: number): Promise<number> {
  const name = column.column ?? column.field;
  const rows = await db
    .selectFrom(column.table)
    .select([`${column.idColumn} as id`, `${column.orgColumn} as org`, `${name} as sealed`])
    .where(name, 'like', `${envelopePrefix(version)}%`)
    .orderBy(column.idColumn)
    .limit(BATCH_SIZE)
    .execute();
  let done = 0;
  for (const row of rows) {
    const binding = { orgId: String(row.org), table: column.table, rowId: String(row.id), field: column.field };
    // A document (an erasure's grant envelope) is resealed as one: not handed whole to the log scrubber.
    const options = { document: column.document === true };
    const resealed = ctx.vault.seal(ctx.vault.open(String(row.sealed), binding, options), binding, options);
    const result = await db
      .updateTable(column.table)
      .set({ [name]: resealed })
      .where(column.idColumn, '=', row.id)
      .where(name, '=', row.sealed)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) done += 1;
  }
  return done;
}

async function countOnVersion(db: Kysely<any>, version: number): Promise<number> {
  let total = 0;
  for (const column of sealedColumns()) {
    const name = column.column ?? column.field;
    const row = await db.selectFrom(column.table).select((eb) => eb.fn.countAll().as('n')).where(name, 'like', `${envelopePrefix(version)}%`).executeTakeFirst();
    total += Number(row?.n ?? 0);
  }
  return total;
}

/**
 * One full pass: re-seal every row on a version older than the current one, then retire the versions left unused.
 * `graceMs` is how long after the current version activated an old one may be retired.
 */
export async function reencryptAll(ctx: AppContext, graceMs: number, shouldStop: () => boolean = () => false): Promise<ReencryptionReport> {
  const db = ctx.store.db as unknown as Kysely<any>;
  const report: ReencryptionReport = { resealed: 0, retired: [], remaining: {} };
  const now = Date.now();
  const current = ctx.keyring.current(now);
  const old = (await listKeyVersions(ctx.store.db)).filter((v) => v.status === 'active' && v.version < current.version);
  for (const { version } of old) {
    for (const column of sealedColumns()) {
      for (;;) {
        if (shouldStop()) return report;
        const n = await resealBatch(ctx, db, column, version);
        report.resealed += n;
        if (n < BATCH_SIZE) break;
      }
    }
    const remaining = await countOnVersion(db, version);
    report.remaining[version] = remaining;
    await recordRowsRemaining(ctx.store.db, version, remaining);
    if (remaining === 0 && now - current.activatesAt >= graceMs) {
      await retireKeyVersion(ctx.store.db, version);
      report.retired.push(version);
    }
  }
  return report;
}

/** The periodic task, registered as a service; `trigger()` runs a pass now (after a rotation). */
export interface ReencryptionService extends Service {
  trigger(): Promise<ReencryptionReport | null>;
}

export function createReencryptionService(ctx: AppContext, intervalMs = 30_000): ReencryptionService {
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let running: Promise<ReencryptionReport | null> | null = null;
  const graceMs = () => 2 * ctx.config.keyringRefreshMs;
  const pass = (): Promise<ReencryptionReport | null> => {
    if (running !== null) return running;
    running = reencryptAll(ctx, graceMs(), () => stopping)
      .then((report) => {
        if (report.resealed > 0 || report.retired.length > 0) ctx.log.info({ resealed: report.resealed, retired: report.retired }, 'key re-encryption pass');
        return report;
      })
      .catch((error: unknown) => {
        ctx.log.error({ err: error }, 'key re-encryption pass failed; it will be retried');
        return null;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  return {
    name: 'key-reencryption',
    start() {
      timer = setInterval(() => void pass(), intervalMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await running;
    },
    trigger: pass,
  };
}

const SERVICES = new WeakMap<AppContext, ReencryptionService>();

/** Installer (see context.ts): registers the service and makes it reachable for the rotate endpoint. */
export async function install(ctx: AppContext): Promise<void> {
  const service = createReencryptionService(ctx);
  SERVICES.set(ctx, service);
  ctx.services.add(service);
}

export function reencryptionService(ctx: AppContext): ReencryptionService | undefined {
  return SERVICES.get(ctx);
}

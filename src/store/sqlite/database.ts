/**
 * The thin adapter that lets Kysely's SqliteDialect drive Node's built-in `node:sqlite`. Kysely expects a
 * better-sqlite3-shaped database whose statements expose `reader` (does the statement return rows?); node:sqlite's
 * StatementSync has `columns()` instead, which is all this adapter translates. Opening sets WAL (readers do not block
 * the writer), a busy timeout (a second process waits instead of failing with SQLITE_BUSY) and foreign keys.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

type SqliteParameter = null | number | bigint | string | Uint8Array;

function bindable(parameters: ReadonlyArray<unknown>): SqliteParameter[] {
  return parameters.map((value, index) => {
    if (value === null || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return value;
    if (value instanceof Uint8Array) return value;
    // Booleans and dates are not portable columns (integers 0/1 and ISO text are); refuse them loudly so the same
    // code does not silently behave differently on PostgreSQL.
    throw new TypeError(`SQL parameter ${index + 1} has type ${value === undefined ? 'undefined' : typeof value}; store booleans as 0/1 and timestamps as ISO-8601 text`);
  });
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #statement: StatementSync;

  constructor(statement: StatementSync) {
    this.#statement = statement;
    this.reader = statement.columns().length > 0;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    // node:sqlite rows have a null prototype; plain objects keep rows identical to PostgreSQL's for deepEqual.
    return this.readRows(parameters).map((row) => ({ ...row }));
  }

  /** Rows as node:sqlite returns them (null prototype), for callers that map each row to their own object at once. */
  readRows(parameters: ReadonlyArray<unknown>): Array<Record<string, unknown>> {
    return this.#statement.all(...bindable(parameters));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#statement.run(...bindable(parameters));
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...bindable(parameters));
  }
}

function rowsAsArrays(statement: StatementSync): StatementSync {
  statement.setReturnArrays(true);
  return statement;
}

/** Prepared statements kept per SQL text: preparing is a large share of a small query's cost on hot paths. */
const STATEMENT_CACHE_SIZE = 256;

export class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, NodeSqliteStatement>();
  #totalChanges: StatementSync | undefined;
  #dataVersion: StatementSync | undefined;

  constructor(filename: string) {
    this.#db = new DatabaseSync(filename);
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA busy_timeout = 5000');
    this.#db.exec('PRAGMA synchronous = NORMAL');
    // Checkpoint the WAL every 4,000 pages (16 MB) rather than SQLite's 1,000: each checkpoint blocks the thread on
    // fsync, and bulk writes (an erasure rewrites the same revocation pages several times) coalesce in a larger WAL.
    this.#db.exec('PRAGMA wal_autocheckpoint = 4000');
    this.#db.exec('PRAGMA foreign_keys = ON');
  }

  prepare(sql: string): SqliteStatement {
    return this.#prepared(sql);
  }

  #prepared(sql: string): NodeSqliteStatement {
    // Reusing a statement is safe because every use runs to completion synchronously (`all`/`run`); SQLite
    // re-prepares by itself after a schema change. Least recently used statements are dropped past the bound.
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = new NodeSqliteStatement(this.#db.prepare(sql));
    this.#statements.set(sql, statement);
    if (this.#statements.size > STATEMENT_CACHE_SIZE) this.#statements.delete(this.#statements.keys().next().value as string);
    return statement;
  }

  /**
   * A value that changes whenever the database may have changed: rows written through this connection
   * (`total_changes()`, counted as each statement completes, before its transaction commits) or a commit by any other
   * connection, in this process or another (`PRAGMA data_version`). Read synchronously, outside Kysely's connection
   * queue, so hot-path caches can re-validate an entry for a few microseconds instead of a query. Writes only ever
   * move it (a rolled-back write too), so a cache keyed on it errs towards re-reading.
   */
  changeStamp(): string {
    // Two plain statements: the `pragma_data_version` table-valued function costs more than the pragma itself. Rows
    // as arrays: no row object with named properties to build (about a third of the cost of the stamp).
    this.#totalChanges ??= rowsAsArrays(this.#db.prepare('SELECT total_changes()'));
    this.#dataVersion ??= rowsAsArrays(this.#db.prepare('PRAGMA data_version'));
    const t = (this.#totalChanges.get() as unknown as [number | bigint])[0];
    const v = (this.#dataVersion.get() as unknown as [number | bigint])[0];
    return `${t}:${v}`;
  }

  /**
   * Runs a read straight on the connection, synchronously, without Kysely's driver (its connection queue, promises
   * and result plumbing): for hot reads of compiled queries. Undefined while a transaction is open on the connection:
   * the one connection is shared, so a read now would see that transaction's uncommitted rows (which a rollback
   * could withdraw); the caller then goes through Kysely, whose connection queue runs it after the transaction.
   * With no transaction open, every statement is its own implicit read transaction and sees committed rows only,
   * which is what a read queued by Kysely sees too (it would run on the same connection in autocommit mode). Rows come
   * as node:sqlite gives them (null prototype), for callers that map each row to an object of their own.
   */
  readNow<Row>(sql: string, parameters: ReadonlyArray<unknown>): Row[] | undefined {
    if (this.#db.isTransaction) return undefined;
    return this.#prepared(sql).readRows(parameters) as Row[];
  }

  close(): void {
    this.#totalChanges = undefined;
    this.#dataVersion = undefined;
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}

/**
 * The SQLite adapter behind a Kysely instance (the root instance of a SQLite store only), with its change stamp bound
 * once: what `readNow` and `changeStampOf` answer from.
 */
const adapters = new WeakMap<object, { database: NodeSqliteDatabase; stamp: () => string }>();

/** Registers the adapter behind a Kysely instance: its change stamp and its direct reads. */
export function registerChangeStamp(db: object, database: NodeSqliteDatabase): void {
  adapters.set(db, { database, stamp: () => database.changeStamp() });
}

/**
 * Rows of a compiled read run directly on the SQLite connection behind `db` (see `NodeSqliteDatabase.readNow`);
 * undefined when `db` is not the root instance of a SQLite store (PostgreSQL, a transaction, a `withTables` view) or
 * a transaction is open: the caller then runs the query through Kysely.
 */
export function readNow<Row>(db: object, sql: string, parameters: ReadonlyArray<unknown>): Row[] | undefined {
  return adapters.get(db)?.database.readNow<Row>(sql, parameters);
}

/** Undefined for PostgreSQL (and for a transaction or a `withTables` view): callers then read the row each time. */
export function changeStampOf(db: object): (() => string) | undefined {
  return adapters.get(db)?.stamp;
}

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
    return this.#statement.all(...bindable(parameters)).map((row) => ({ ...row }));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#statement.run(...bindable(parameters));
  }

  iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    return this.#statement.iterate(...bindable(parameters));
  }
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
    this.#db.exec('PRAGMA foreign_keys = ON');
  }

  prepare(sql: string): SqliteStatement {
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
    // Two plain statements: the `pragma_data_version` table-valued function costs more than the pragma itself.
    this.#totalChanges ??= this.#db.prepare('SELECT total_changes() AS t');
    this.#dataVersion ??= this.#db.prepare('PRAGMA data_version');
    const t = (this.#totalChanges.get() as { t: number | bigint }).t;
    const v = (this.#dataVersion.get() as { data_version: number | bigint }).data_version;
    return `${t}:${v}`;
  }

  close(): void {
    this.#totalChanges = undefined;
    this.#dataVersion = undefined;
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }
}

/** The change stamp of the database behind a Kysely instance, for the stores that have one (SQLite). */
const changeStamps = new WeakMap<object, () => string>();

export function registerChangeStamp(db: object, database: NodeSqliteDatabase): void {
  changeStamps.set(db, () => database.changeStamp());
}

/** Undefined for PostgreSQL (and for a transaction or a `withTables` view): callers then read the row each time. */
export function changeStampOf(db: object): (() => string) | undefined {
  return changeStamps.get(db);
}

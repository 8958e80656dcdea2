/**
 * Hot reads compiled once: building a query with Kysely costs more than running it for a one-row read, so the reads
 * that run on every request (authentication, API-key listing, the proxied connection) compile their SQL once per
 * database (or transaction) and run it with new parameters.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { readNow } from './sqlite/database.ts';

type Db = Kysely<Database>;

/**
 * The SQL of a query, built by `build` the first time it is asked for on a database and remembered for it. `build`
 * gets stand-in parameter values: only the SQL text is kept, the real parameters are given on each run, in order.
 */
export function compiledOnce(build: (db: Db) => { compile(): CompiledQuery }): (db: Db) => string {
  const texts = new WeakMap<Db, string>();
  return (db) => {
    let text = texts.get(db);
    if (text === undefined) {
      text = build(db).compile().sql;
      texts.set(db, text);
    }
    return text;
  };
}

/**
 * The rows of compiled SQL: on SQLite with no transaction open, run straight on the connection (`readNow`: rows with a
 * null prototype, for callers that map each row to an object of their own); otherwise through Kysely.
 */
export async function readCompiled<Row>(db: Db, text: string, parameters: readonly unknown[]): Promise<Row[]> {
  return readNow<Row>(db, text, parameters) ?? (await db.executeQuery<Row>(CompiledQuery.raw(text, [...parameters]))).rows;
}

/**
 * The PostgreSQL side of the store: a `pg` pool configured so rows look the same as on SQLite. `count(*)` and other
 * int8 values come back as JavaScript numbers (not strings), which keeps repository code portable; Plugboard never
 * stores integers beyond 2^53.
 */
import pg from 'pg';

const INT8_OID = 20;

export function createPool(connectionString: string, max = 10): pg.Pool {
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === INT8_OID) return (value: string) => Number(value);
      return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
    }) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({ connectionString, max, types });
  // An idle client losing its connection emits on the pool; without a listener Node would crash the process.
  pool.on('error', () => {});
  return pool;
}

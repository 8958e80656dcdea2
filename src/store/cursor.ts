/**
 * The page cursor every newest-first list uses (instances, executions, events, webhook deliveries): the
 * `(timestamp, id)` of the last row returned, as base64url JSON. Keyset pagination on that pair is stable under
 * inserts (a new row never shifts a page) and the id breaks ties between rows written in the same millisecond. The
 * cursor is opaque to callers but not trusted: anything this server could not have issued is a 400 naming the
 * `cursor` query field, never a 500 from a failed parse or a query with a non-text value.
 */
import { PlugboardError } from '../core/errors.ts';

export interface CursorPosition {
  /** ISO-8601 UTC timestamp of the last row of the previous page. */
  time: string;
  /** Its id. */
  id: string;
}

/** Longest cursor accepted: a timestamp and an id fit in far less; a huge value is not worth decoding. */
const MAX_CURSOR_LENGTH = 512;

export function encodeCursor(time: string, id: string): string {
  return encodeParts([time, id]);
}

/** The `nextCursor` of a page of rows read with `limit + 1`: null when the extra row did not come back. */
export function nextCursorOf<T>(rows: readonly T[], limit: number, position: (row: T) => CursorPosition): string | null {
  if (rows.length <= limit || limit < 1) return null;
  const last = position(rows[limit - 1] as T);
  return encodeCursor(last.time, last.id);
}

/** Decodes a cursor made by `encodeCursor`; anything else throws VALIDATION_FAILED naming `query.cursor`. */
export function decodeCursor(cursor: string): CursorPosition {
  const [time, id] = decodeParts(cursor, 2) as [string, string];
  return { time, id };
}

/**
 * For lists ordered by id alone (the items of one erasure receipt, which never grow once written): the id of the
 * last row returned, with the same encoding and the same refusal of foreign cursors.
 */
export function encodeIdCursor(id: string): string {
  return encodeParts([id]);
}

export function decodeIdCursor(cursor: string): string {
  return decodeParts(cursor, 1)[0] as string;
}

function encodeParts(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeParts(cursor: string, count: number): string[] {
  if (cursor.length > 0 && cursor.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (Array.isArray(value) && value.length === count && value.every((part) => typeof part === 'string' && part !== '')) return value as string[];
    } catch {
      // Not base64url JSON: reported below like any other foreign cursor.
    }
  }
  throw new PlugboardError('VALIDATION_FAILED', 'The cursor is not one this server issued.', {
    details: [{ path: 'query.cursor', message: 'expected the nextCursor value of a previous page, unchanged' }],
  });
}

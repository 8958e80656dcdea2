/**
 * The registry of every column that holds vault envelopes. The re-encryption task walks exactly these columns after
 * a key rotation, and a key version is retired only when none of them still uses it, so a sealed column missing here
 * would keep its rows on an old version forever (they would fail to open once that version is retired). Each area
 * adds one line per sealed column to SEALED_COLUMNS (or calls registerSealedColumn at start).
 */

export interface SealedColumn {
  table: string;
  /** Primary-key column; its value is the `rowId` of the seal binding. */
  idColumn: string;
  /** Organization column; its value is the `orgId` of the seal binding. */
  orgColumn: string;
  /** The binding's `field`, and the column name unless `column` is given. */
  field: string;
  column?: string;
  /** The column holds a document of several secrets, sealed with `{ document: true }` (see the vault's SealOptions). */
  document?: boolean;
}

/** One line per sealed column, e.g. `{ table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'access_token' },` */
const SEALED_COLUMNS: SealedColumn[] = [
  { table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'access_token' },
  { table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'refresh_token' },
  { table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'username' },
  { table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'password' },
  { table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'api_key' },
  { table: 'connections', idColumn: 'id', orgColumn: 'org_id', field: 'client_secret' },
  { table: 'oauth_states', idColumn: 'state_hash', orgColumn: 'org_id', field: 'code_verifier' },
  { table: 'oauth_states', idColumn: 'state_hash', orgColumn: 'org_id', field: 'client_secret' },
  { table: 'connector_oauth_apps', idColumn: 'id', orgColumn: 'org_id', field: 'client_secret' },
  { table: 'revocations', idColumn: 'id', orgColumn: 'org_id', field: 'sealed_grant' },
  { table: 'revocation_grant_batches', idColumn: 'id', orgColumn: 'org_id', field: 'sealed_grants', document: true },
];

const extra: SealedColumn[] = [];

export function registerSealedColumn(column: SealedColumn): void {
  const key = (c: SealedColumn) => `${c.table}.${c.column ?? c.field}`;
  if ([...SEALED_COLUMNS, ...extra].some((c) => key(c) === key(column))) return;
  extra.push(column);
}

export function sealedColumns(): readonly SealedColumn[] {
  return [...SEALED_COLUMNS, ...extra];
}

/**
 * The private connectors and OAuth apps repository. Every function takes the organization first and scopes its query
 * to it. A private connector is a list of versions (a deploy inserts version n+1; the highest is live); concurrent
 * deploys of one key race on the unique (org, key, version) constraint and the loser is told to retry, never
 * silently overwritten. The OAuth app's client secret is sealed with the binding
 * `{ orgId, table: 'connector_oauth_apps', rowId, field: 'client_secret' }` and only opened for server-side use.
 */
import type { Kysely } from 'kysely';
import { PlugboardError } from '../core/errors.ts';
import { newId } from '../crypto/random.ts';
import type { Database } from './schema.ts';
import type { SecretSealer } from './connections.ts';

export interface PrivateConnectorTable {
  id: string;
  org_id: string;
  key: string;
  version: number;
  name: string;
  /** The validated definition as JSON (defaults applied). */
  definition: string;
  /** The text as deployed (YAML or JSON), kept so `show` returns what its author wrote. */
  source: string;
  /** `yaml` or `json`. */
  source_format: string;
  created_by: string | null;
  created_at: string;
}

export interface ConnectorOAuthAppTable {
  id: string;
  org_id: string;
  connector_key: string;
  client_id: string;
  /** Vault envelope of the client secret. */
  client_secret: string;
  created_at: string;
  updated_at: string;
}

export interface ConnectorsTables {
  private_connectors: PrivateConnectorTable;
  connector_oauth_apps: ConnectorOAuthAppTable;
}

type Db = Kysely<Database>;

export interface PrivateConnectorVersion {
  id: string;
  key: string;
  version: number;
  name: string;
  definition: unknown;
  source: string;
  sourceFormat: 'yaml' | 'json';
  createdBy: string | null;
  createdAt: string;
}

function toVersion(row: PrivateConnectorTable): PrivateConnectorVersion {
  return {
    id: row.id, key: row.key, version: row.version, name: row.name, definition: JSON.parse(row.definition) as unknown, source: row.source,
    sourceFormat: row.source_format === 'json' ? 'json' : 'yaml', createdBy: row.created_by, createdAt: row.created_at,
  };
}

/** The live (highest) version of one private connector, or undefined. */
export async function latestPrivateConnector(db: Db, orgId: string, key: string): Promise<PrivateConnectorVersion | undefined> {
  const row = await db.selectFrom('private_connectors').selectAll().where('org_id', '=', orgId).where('key', '=', key)
    .orderBy('version', 'desc').limit(1).executeTakeFirst();
  return row === undefined ? undefined : toVersion(row);
}

/** The live version of every private connector of the organization, sorted by key. */
export async function listLatestPrivateConnectors(db: Db, orgId: string): Promise<PrivateConnectorVersion[]> {
  const latest = db.selectFrom('private_connectors').select(['key']).select((eb) => eb.fn.max('version').as('version'))
    .where('org_id', '=', orgId).groupBy('key').as('latest');
  const rows = await db.selectFrom('private_connectors').innerJoin(latest, (join) =>
    join.onRef('latest.key', '=', 'private_connectors.key').onRef('latest.version', '=', 'private_connectors.version'))
    .selectAll('private_connectors').where('private_connectors.org_id', '=', orgId).orderBy('private_connectors.key').execute();
  return rows.map(toVersion);
}

export interface NewPrivateConnectorVersion {
  key: string;
  name: string;
  definition: unknown;
  source: string;
  sourceFormat: 'yaml' | 'json';
  createdBy: string | null;
  /** For a first deploy (`POST /elements`): fail with CONFLICT when the key already has a version. */
  mustBeNew?: boolean;
}

/** Inserts the next version of a private connector; returns it. */
export async function insertPrivateConnectorVersion(db: Db, orgId: string, input: NewPrivateConnectorVersion, now = new Date()): Promise<PrivateConnectorVersion> {
  const current = await latestPrivateConnector(db, orgId, input.key);
  if (current !== undefined && input.mustBeNew === true) {
    throw new PlugboardError('CONFLICT', `A connector with the key ${input.key} already exists in this organization (version ${current.version}).`, {
      details: [{ path: 'key', message: `deploy a new version with PUT /elements/${input.key}, or choose another key` }],
    });
  }
  const row: PrivateConnectorTable = {
    id: newId(), org_id: orgId, key: input.key, version: (current?.version ?? 0) + 1, name: input.name,
    definition: JSON.stringify(input.definition), source: input.source, source_format: input.sourceFormat,
    created_by: input.createdBy, created_at: now.toISOString(),
  };
  try {
    await db.insertInto('private_connectors').values(row).execute();
  } catch (error) {
    // The unique (org, key, version) constraint: another deploy of the same key won the race.
    const again = await latestPrivateConnector(db, orgId, input.key);
    if (again !== undefined && again.version >= row.version) {
      throw new PlugboardError('CONFLICT', `Another deploy of ${input.key} created version ${again.version} at the same time; deploy again to add yours on top.`, { cause: error });
    }
    throw error;
  }
  return toVersion(row);
}

export interface OAuthAppInfo {
  connectorKey: string;
  clientId: string;
  createdAt: string;
  updatedAt: string;
}

function sealBinding(orgId: string, rowId: string) {
  return { orgId, table: 'connector_oauth_apps', rowId, field: 'client_secret' } as const;
}

/** Sets (or replaces) the organization's OAuth app for a connector; the secret is sealed, never returned. */
export async function upsertOAuthApp(
  db: Db,
  vault: SecretSealer,
  orgId: string,
  input: { connectorKey: string; clientId: string; clientSecret: string },
  now = new Date(),
): Promise<OAuthAppInfo> {
  const at = now.toISOString();
  const existing = await db.selectFrom('connector_oauth_apps').select(['id', 'created_at']).where('org_id', '=', orgId)
    .where('connector_key', '=', input.connectorKey).executeTakeFirst();
  if (existing !== undefined) {
    await db.updateTable('connector_oauth_apps')
      .set({ client_id: input.clientId, client_secret: vault.seal(input.clientSecret, sealBinding(orgId, existing.id)), updated_at: at })
      .where('org_id', '=', orgId).where('id', '=', existing.id).execute();
    return { connectorKey: input.connectorKey, clientId: input.clientId, createdAt: existing.created_at, updatedAt: at };
  }
  const id = newId();
  try {
    await db.insertInto('connector_oauth_apps').values({
      id, org_id: orgId, connector_key: input.connectorKey, client_id: input.clientId,
      client_secret: vault.seal(input.clientSecret, sealBinding(orgId, id)), created_at: at, updated_at: at,
    }).execute();
  } catch (error) {
    throw new PlugboardError('CONFLICT', `The OAuth app of ${input.connectorKey} was set by another request at the same time; send yours again.`, { cause: error });
  }
  return { connectorKey: input.connectorKey, clientId: input.clientId, createdAt: at, updatedAt: at };
}

/** The OAuth app without its secret (for listings), or undefined. */
export async function getOAuthAppInfo(db: Db, orgId: string, connectorKey: string): Promise<OAuthAppInfo | undefined> {
  const row = await db.selectFrom('connector_oauth_apps').select(['connector_key', 'client_id', 'created_at', 'updated_at'])
    .where('org_id', '=', orgId).where('connector_key', '=', connectorKey).executeTakeFirst();
  return row === undefined ? undefined : { connectorKey: row.connector_key, clientId: row.client_id, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Client ids of every OAuth app of the organization, by connector key (no secrets). */
export async function listOAuthAppInfos(db: Db, orgId: string): Promise<Map<string, OAuthAppInfo>> {
  const rows = await db.selectFrom('connector_oauth_apps').select(['connector_key', 'client_id', 'created_at', 'updated_at']).where('org_id', '=', orgId).execute();
  return new Map(rows.map((row) => [row.connector_key, { connectorKey: row.connector_key, clientId: row.client_id, createdAt: row.created_at, updatedAt: row.updated_at }]));
}

/** The decrypted client credentials, for server-side use only (token requests, revoke flows). */
export async function openOAuthApp(db: Db, vault: SecretSealer, orgId: string, connectorKey: string): Promise<{ clientId: string; clientSecret: string } | null> {
  const row = await db.selectFrom('connector_oauth_apps').select(['id', 'client_id', 'client_secret'])
    .where('org_id', '=', orgId).where('connector_key', '=', connectorKey).executeTakeFirst();
  if (row === undefined) return null;
  return { clientId: row.client_id, clientSecret: vault.open(row.client_secret, sealBinding(orgId, row.id)) };
}

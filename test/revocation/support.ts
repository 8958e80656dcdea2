/**
 * Test fixtures for revocation: an app (SQLite, or PostgreSQL when configured) and a sandbox on ephemeral loopback
 * ports, the built-in `sandbox` connector repointed at that sandbox, and connections inserted straight into the store
 * with tokens the sandbox issued (no browser, no dependency on the instance endpoints).
 */
import { randomBytes } from 'node:crypto';
import { startSandbox, DEFAULT_CLIENT, type Sandbox } from '../../src/sandbox/index.ts';
import { builtinCatalogue } from '../../src/connectors/registry.ts';
import type { ConnectorDefinition } from '../../src/connectors/schema.ts';
import { insertConnection } from '../../src/store/connections.ts';
import { initialState } from '../../src/core/connection.ts';
import { PlugboardError } from '../../src/core/errors.ts';
import { revocationService, type RevocationService } from '../../src/revocation/service.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import type { Backend } from '../support/database.ts';

export interface RevocationFixture {
  app: TestApp;
  sandbox: Sandbox;
  service: RevocationService;
  orgId: string;
  connector: ConnectorDefinition;
  /** Makes another (derived) connector resolvable by its key. */
  register(def: ConnectorDefinition): void;
  close(): Promise<void>;
}

/** The sandbox connector without its revoke flow: revocation falls back to a standard RFC 7009 request. */
export function withoutRevokeFlow(def: ConnectorDefinition, key: string): ConnectorDefinition {
  return { ...def, key, flows: def.flows.filter((flow) => flow.kind !== 'revoke') };
}

/** Deep copy of a definition with every `http://127.0.0.1:8081` replaced by the test sandbox's URL. */
export function repoint<T>(def: T, sandboxUrl: string): T {
  return JSON.parse(JSON.stringify(def).split('http://127.0.0.1:8081').join(sandboxUrl)) as T;
}

export async function startRevocationFixture(options: { backend?: Backend; mutate?: (def: ConnectorDefinition) => ConnectorDefinition } = {}): Promise<RevocationFixture> {
  const sandbox = await startSandbox({ autoApprove: true });
  const app = await startTestApp({ backend: options.backend ?? 'sqlite' });
  const base = (await builtinCatalogue()).get('sandbox');
  if (base === undefined) throw new Error('the built-in sandbox connector is missing');
  let connector = repoint(base.definition, sandbox.url);
  if (options.mutate) connector = options.mutate(connector);
  const service = revocationService(app.ctx);
  const known = new Map<string, ConnectorDefinition>([[connector.key, connector]]);
  service.resolveConnector = async (_orgId, key) => {
    const def = known.get(key);
    if (def !== undefined) return def;
    throw new PlugboardError('NOT_FOUND', `No connector ${key} in this organization.`);
  };
  return {
    app,
    sandbox,
    service,
    orgId: app.admin.organizationId,
    connector,
    register(def) {
      known.set(def.key, def);
    },
    async close() {
      await app.close();
      await sandbox.close();
    },
  };
}

export interface SeededConnection {
  id: string;
  accessToken: string;
  refreshToken: string | null;
}

/** Inserts a connection holding a fresh sandbox token pair for `userId`. */
export async function seedConnection(f: RevocationFixture, options: { userId?: string; externalUserId?: string | null; tags?: string[]; clientId?: string; clientSecret?: string; elementKey?: string; expiresAt?: string } = {}): Promise<SeededConnection> {
  const clientId = options.clientId ?? DEFAULT_CLIENT.id;
  const clientSecret = options.clientSecret ?? DEFAULT_CLIENT.secret;
  const issued = f.sandbox.admin.issueTokens({ clientId, userId: options.userId ?? 'user-alice' });
  const id = `inst_${randomBytes(8).toString('hex')}`;
  const now = new Date().toISOString();
  await insertConnection(f.app.ctx.store.db, f.app.ctx.vault, f.orgId, {
    id,
    elementKey: options.elementKey ?? f.connector.key,
    name: `connection ${id}`,
    externalUserId: options.externalUserId ?? null,
    configuration: {},
    baseUrl: null,
    authType: 'oauth2_authorization_code',
    state: initialState(true),
    tokenLookup: randomBytes(8).toString('hex'),
    tokenHash: randomBytes(32).toString('hex'),
    tokenType: 'Bearer',
    expiresAt: options.expiresAt ?? new Date(Date.now() + 3_600_000).toISOString(),
    scope: issued.scope,
    clientId,
    tags: options.tags ?? [],
    lastAuthenticatedAt: now,
    now,
  }, { access_token: issued.access_token, refresh_token: issued.refresh_token ?? null, client_secret: clientSecret });
  return { id, accessToken: issued.access_token, refreshToken: issued.refresh_token ?? null };
}

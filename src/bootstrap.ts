/**
 * First start of an empty store: a default organization, its platform-admin user and an admin API key with every
 * permission, so a newcomer can use the API and console at once. The credentials are returned once (the `start`
 * command prints them) and, in embedded mode, written to `<dataDir>/admin-credentials` with mode 0600; the store
 * keeps only hashes. When the sandbox provider runs beside the server, the first start also sets the OAuth apps of the
 * built-in sandbox connectors for that organization (configureSandboxOAuthApps). On every later start this does
 * nothing.
 */
import { writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { isEmbedded } from './config.ts';
import type { AppContext } from './context.ts';
import { PERMISSIONS } from './core/permissions.ts';
import { countOrganizations, createOrganization } from './store/organizations.ts';
import { createApiKey } from './store/api-keys.ts';

export const CREDENTIALS_FILE = 'admin-credentials';

export interface BootstrapResult {
  organizationId: string;
  userId: string;
  apiKeyId: string;
  apiKey: string;
  userSecret: string;
  organizationSecret: string;
  /** Path of the credentials file when one was written. */
  file?: string;
  /** The sandbox connectors whose OAuth app this first start set (when the sandbox runs beside the server). */
  sandboxOAuthApps?: SandboxOAuthApp[];
}

/** Arbitrary constant naming the bootstrap lock among other advisory locks of the same database. */
const BOOTSTRAP_LOCK_ID = 716_204_002;

export async function bootstrapStore(ctx: AppContext, options: { writeFile: boolean }): Promise<BootstrapResult | null> {
  if ((await countOrganizations(ctx.store.db)) > 0) return null;
  // Several processes may start on one empty PostgreSQL database at once: the lock and the second count inside the
  // transaction make exactly one of them create the default organization.
  const made = await ctx.store.db.transaction().execute(async (trx) => {
    if (ctx.store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_ID})`.execute(trx);
    if ((await countOrganizations(trx)) > 0) return null;
    const org = await createOrganization(trx, { name: 'Default organization', adminEmail: 'admin@localhost', adminName: 'Administrator', adminRole: 'platform-admin' });
    const key = await createApiKey(trx, org.organization.id, { userId: org.user.id, name: 'admin', permissions: PERMISSIONS });
    return { created: org, ...key };
  });
  if (made === null) return null;
  const { created, apiKey, secret } = made;
  for (const value of [secret, created.userSecret, created.organizationSecret]) ctx.secrets.remember(value, true);
  const result: BootstrapResult = {
    organizationId: created.organization.id,
    userId: created.user.id,
    apiKeyId: apiKey.id,
    apiKey: secret,
    userSecret: created.userSecret,
    organizationSecret: created.organizationSecret,
  };
  if (options.writeFile && isEmbedded(ctx.config)) {
    const file = path.join(ctx.config.dataDir, CREDENTIALS_FILE);
    writeFileSync(file, formatCredentials(result), { mode: 0o600 });
    result.file = file;
  }
  ctx.log.info({ organizationId: result.organizationId, apiKeyId: result.apiKeyId, file: result.file }, 'first start: created the default organization and its admin API key');
  return result;
}

export interface SandboxOAuthApp {
  connectorKey: string;
  clientId: string;
}

/**
 * First start beside a running sandbox: sets the OAuth app of every built-in sandbox connector for the default
 * organization, so + New Connection works at once. `sandbox` gets the sandbox's default client (`plugboard-demo`); each
 * `sandbox-<style>` connector gets the seeded client of its revocation style (`sandbox-<style>`), the pairing each
 * connector file names. The secrets are the sandbox's published test secrets (docs/sandbox.md), sealed like any other.
 */
export async function configureSandboxOAuthApps(ctx: AppContext, orgId: string): Promise<SandboxOAuthApp[]> {
  // Loaded only on a first start with the sandbox: nothing else in start-up needs the catalogue or the sandbox model.
  const [{ BUILTIN_CONNECTOR_DIR, isSandboxConnectorKey }, { loadConnectorFile }, { DEFAULT_CLIENT }, { seedClients }, { upsertOAuthApp }] = await Promise.all([
    import('./connectors/registry.ts'), import('./connectors/load.ts'), import('./sandbox/index.ts'), import('./sandbox/model.ts'), import('./store/connectors.ts'),
  ]);
  const clients = new Map(seedClients().map((client) => [client.id, client]));
  const configured: SandboxOAuthApp[] = [];
  // Only the sandbox files are read: compiling the whole catalogue here would cost the first start most of a second.
  const files = (await readdir(BUILTIN_CONNECTOR_DIR)).filter((name) => /^sandbox(-[a-z0-9-]+)?\.ya?ml$/.test(name)).sort();
  for (const file of files) {
    const definition = await loadConnectorFile(path.join(BUILTIN_CONNECTOR_DIR, file), `connectors/${file}`);
    if (!isSandboxConnectorKey(definition.key) || !definition.auth.type.startsWith('oauth2')) continue;
    const seeded = clients.get(definition.key);
    const client = definition.key === 'sandbox' ? DEFAULT_CLIENT : seeded !== undefined && seeded.secret !== null ? { id: seeded.id, secret: seeded.secret } : undefined;
    if (client === undefined) continue;
    await upsertOAuthApp(ctx.store.db, ctx.vault, orgId, { connectorKey: definition.key, clientId: client.id, clientSecret: client.secret });
    configured.push({ connectorKey: definition.key, clientId: client.id });
  }
  ctx.log.info(
    { organizationId: orgId, oauthApps: configured },
    'first start: set the OAuth apps of the %d built-in sandbox connectors for the default organization (sandbox uses client %s)',
    configured.length, DEFAULT_CLIENT.id,
  );
  return configured;
}

export function formatCredentials(result: BootstrapResult): string {
  return [
    `# Plugboard admin credentials, created ${new Date().toISOString()}. Keep this file private.`,
    `PLUGBOARD_API_KEY=${result.apiKey}`,
    `PLUGBOARD_USER_SECRET=${result.userSecret}`,
    `PLUGBOARD_ORGANIZATION_SECRET=${result.organizationSecret}`,
    `PLUGBOARD_ORGANIZATION_ID=${result.organizationId}`,
    '',
  ].join('\n');
}

/** Reads `KEY=value` lines of a credentials file. */
export function parseCredentialsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match !== null) out[match[1]] = match[2];
  }
  return out;
}

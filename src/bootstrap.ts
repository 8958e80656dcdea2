/**
 * First start of an empty store: a default organization, its platform-admin user and an admin API key with every
 * permission, so a newcomer can use the API and console at once. The credentials are returned once (the `start`
 * command prints them) and, in embedded mode, written to `<dataDir>/admin-credentials` with mode 0600; the store
 * keeps only hashes. On every later start this does nothing.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
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
}

export async function bootstrapStore(ctx: AppContext, options: { writeFile: boolean }): Promise<BootstrapResult | null> {
  if ((await countOrganizations(ctx.store.db)) > 0) return null;
  const created = await createOrganization(ctx.store.db, { name: 'Default organization', adminEmail: 'admin@localhost', adminName: 'Administrator', adminRole: 'platform-admin' });
  const { apiKey, secret } = await createApiKey(ctx.store.db, created.organization.id, { userId: created.user.id, name: 'admin', permissions: PERMISSIONS });
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

/**
 * `plugboard keys`: API keys of the organization (`create|list|revoke`) and the data-key rotation of the vault
 * (`rotate`, `versions`), through the REST API.
 */
import type { Command } from 'commander';
import { action, callApi, CliError, output, withClientFlags, type ClientFlags } from '../client.ts';

export function register(program: Command): void {
  const keys = program.command('keys').description('Manage API keys and rotate the encryption key');

  withClientFlags(keys.command('create <name>').description('Create an API key (the secret is printed once)'))
    .option('--permissions <list>', 'comma-separated permissions (default: all of yours but platform:admin)')
    .action(action(async (name: string, flags: ClientFlags & { permissions?: string }) => {
      const body: { name: string; permissions?: string[] } = { name };
      if (flags.permissions !== undefined) {
        body.permissions = flags.permissions.split(',').map((p) => p.trim()).filter((p) => p !== '');
        if (body.permissions.length === 0) throw new CliError('--permissions is empty; list at least one, e.g. instances:read,instances:write');
      }
      const key = (await callApi(flags, 'POST', '/api-keys', body)) as { id: string; name: string; secret: string; permissions: string[] };
      if (flags.json === true) return output(flags, key, [], []);
      process.stdout.write(`Created API key ${key.name} (${key.id}) with ${key.permissions.join(', ')}. Shown only this once:\n  ${key.secret}\n`);
    }));

  withClientFlags(keys.command('list').description('List API keys (never their secrets)'))
    .action(action(async (flags: ClientFlags) => {
      const data = (await callApi(flags, 'GET', '/api-keys')) as { apiKeys: Array<Record<string, unknown>> };
      output(flags, data, data.apiKeys, ['id', 'name', 'prefix', 'createdAt', 'lastUsedAt', 'revokedAt']);
    }));

  withClientFlags(keys.command('revoke <id>').description('Revoke an API key at once'))
    .action(action(async (id: string, flags: ClientFlags) => {
      const key = (await callApi(flags, 'DELETE', `/api-keys/${encodeURIComponent(id)}`)) as Record<string, unknown>;
      if (flags.json === true) return output(flags, key, [], []);
      process.stdout.write(`Revoked API key ${String(key.name)} (${String(key.id)}) at ${String(key.revokedAt)}\n`);
    }));

  withClientFlags(keys.command('rotate').description('Add a data-key version; old secrets are re-encrypted in the background'))
    .action(action(async (flags: ClientFlags) => {
      const version = (await callApi(flags, 'POST', '/keyring/rotate')) as { version: number; activatesAt: string };
      if (flags.json === true) return output(flags, version, [], []);
      process.stdout.write(`Added data-key version ${version.version}; it seals new secrets from ${version.activatesAt}, and older rows are re-encrypted in the background (see: plugboard keys versions)\n`);
    }));

  withClientFlags(keys.command('versions').description('List data-key versions and the rows still sealed with each'))
    .action(action(async (flags: ClientFlags) => {
      const data = (await callApi(flags, 'GET', '/keyring')) as { versions: Array<Record<string, unknown>> };
      output(flags, data, data.versions, ['version', 'status', 'current', 'activatesAt', 'rowsRemaining', 'retiredAt']);
    }));
}

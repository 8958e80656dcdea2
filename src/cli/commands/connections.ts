/**
 * `plugboard connections`: the organization's connections (instances) through the REST API: `list` (with the same
 * filters as GET /instances), `show`, `oauth-url` (start an authorization, or a re-authentication with
 * `--instance`), `rename`, `enable`, `disable`, `rotate-token`, `delete`. `--json` prints the API's answer unchanged.
 */
import type { Command } from 'commander';
import { action, callApi, CliError, output, withClientFlags, type ClientFlags } from '../client.ts';
import type { Instance } from '../../api/contracts/instances.ts';

const COLUMNS = ['id', 'name', 'element', 'status', 'externalUserId', 'tags', 'updatedDate'];

function row(instance: Instance): Record<string, unknown> {
  return { ...instance, element: instance.element.key };
}

function path(id: string, suffix = ''): string {
  return `/instances/${encodeURIComponent(id)}${suffix}`;
}

function printOne(flags: ClientFlags, instance: Instance, verb: string): void {
  if (flags.json === true) return output(flags, instance, [], []);
  process.stdout.write(`${verb} ${instance.name} (${instance.id}): ${instance.element.key}, ${instance.status}\n`);
}

export function register(program: Command): void {
  const connections = program.command('connections').alias('instances').description('List and manage connections (instances)');

  withClientFlags(connections.command('list').description('List connections, newest first'))
    .option('--element <key>', 'only this connector')
    .option('--tags <list>', 'comma-separated tags; a connection must carry every one')
    .option('--external-user <id>', 'only connections of this person')
    .option('--status <status>', 'active, invalid, disabled or revoked')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--all', 'follow nextCursor until the last page')
    .action(action(async (flags: ClientFlags & { element?: string; tags?: string; externalUser?: string; status?: string; limit: string; all?: boolean }) => {
      const query = new URLSearchParams({ limit: flags.limit });
      if (flags.element !== undefined) query.set('element', flags.element);
      if (flags.tags !== undefined) query.set('tags', flags.tags);
      if (flags.externalUser !== undefined) query.set('externalUserId', flags.externalUser);
      if (flags.status !== undefined) query.set('status', flags.status);
      const instances: Instance[] = [];
      let nextCursor: string | null = null;
      do {
        if (nextCursor !== null) query.set('cursor', nextCursor);
        const page = (await callApi(flags, 'GET', `/instances?${query}`)) as { instances: Instance[]; nextCursor: string | null };
        instances.push(...page.instances);
        nextCursor = page.nextCursor;
      } while (flags.all === true && nextCursor !== null);
      output(flags, { instances, nextCursor }, instances.map(row), COLUMNS);
      if (flags.json !== true && nextCursor !== null) process.stdout.write(`(more: --all, or GET /instances?cursor=${nextCursor})\n`);
    }));

  withClientFlags(connections.command('show <id>').description('Show one connection (never its secrets)'))
    .action(action(async (id: string, flags: ClientFlags) => {
      const instance = (await callApi(flags, 'GET', path(id))) as Instance;
      if (flags.json === true) return output(flags, instance, [], []);
      const fields: Array<[string, unknown]> = [
        ['id', instance.id], ['name', instance.name], ['element', `${instance.element.key} (${instance.element.name})`], ['status', instance.status],
        ['valid', instance.valid], ['disabled', instance.disabled], ['auth', instance.authType], ['externalUserId', instance.externalUserId],
        ['tags', instance.tags.join(', ')], ['configuration', JSON.stringify(instance.configuration)], ['expiresAt', instance.expiresAt],
        ['lastAuthenticatedAt', instance.lastAuthenticatedAt], ['created', instance.createdDate], ['updated', instance.updatedDate],
      ];
      process.stdout.write(`${fields.map(([k, v]) => `${k.padEnd(20)} ${v === null || v === '' ? '-' : String(v)}`).join('\n')}\n`);
    }));

  withClientFlags(connections.command('oauth-url <element>').description('Print the provider URL that starts an authorization'))
    .option('--instance <id>', 're-authenticate this connection in place instead of creating one')
    .option('--name <name>', 'name of the connection the callback creates')
    .option('--external-user <id>', 'the person the connection belongs to')
    .option('--tags <list>', 'comma-separated tags for the new connection')
    .option('--scope <scope>', 'scopes to request instead of the connector\'s defaults')
    .option('--callback-url <url>', 'your own redirect URI (then finish with POST /instances and providerData { code, state })')
    .option('--return-url <url>', 'where the hosted callback sends the person afterwards (allow-listed origins only)')
    .action(action(async (element: string, flags: ClientFlags & { instance?: string; name?: string; externalUser?: string; tags?: string; scope?: string; callbackUrl?: string; returnUrl?: string }) => {
      const query = new URLSearchParams();
      const set = (key: string, value: string | undefined) => { if (value !== undefined) query.set(key, value); };
      set('instanceId', flags.instance); set('name', flags.name); set('externalUserId', flags.externalUser); set('tags', flags.tags);
      set('scope', flags.scope); set('callbackUrl', flags.callbackUrl); set('returnUrl', flags.returnUrl);
      const result = (await callApi(flags, 'GET', `/elements/${encodeURIComponent(element)}/oauth/url?${query}`)) as { oauthUrl: string; element: string };
      if (flags.json === true) return output(flags, result, [], []);
      process.stdout.write(`Open this URL in a browser to ${flags.instance === undefined ? 'connect' : 're-authenticate'} ${result.element} (valid for 10 minutes, once):\n  ${result.oauthUrl}\n`);
    }));

  withClientFlags(connections.command('rename <id> <name>').description('Rename a connection'))
    .action(action(async (id: string, name: string, flags: ClientFlags) => {
      if (name.trim() === '') throw new CliError('the new name is empty');
      printOne(flags, (await callApi(flags, 'PATCH', path(id), { name })) as Instance, 'Renamed');
    }));

  withClientFlags(connections.command('enable <id>').description('Enable a connection'))
    .action(action(async (id: string, flags: ClientFlags) => {
      printOne(flags, (await callApi(flags, 'PUT', path(id, '/enabled'))) as Instance, 'Enabled');
    }));

  withClientFlags(connections.command('disable <id>').description('Disable a connection (its credentials are kept but not used)'))
    .action(action(async (id: string, flags: ClientFlags) => {
      printOne(flags, (await callApi(flags, 'DELETE', path(id, '/enabled'))) as Instance, 'Disabled');
    }));

  withClientFlags(connections.command('rotate-token <id>').description('Issue a new instance token (shown once; the previous one stops working)'))
    .action(action(async (id: string, flags: ClientFlags) => {
      const result = (await callApi(flags, 'POST', path(id, '/token'))) as { id: string; token: string; rotatedAt: string };
      if (flags.json === true) return output(flags, result, [], []);
      process.stdout.write(`New instance token for ${result.id} (shown once; the previous one no longer works):\n${result.token}\n`);
    }));

  withClientFlags(connections.command('delete <id>').description('Delete a connection (revoking its grant at the provider where possible)'))
    .action(action(async (id: string, flags: ClientFlags) => {
      const result = (await callApi(flags, 'DELETE', path(id))) as Record<string, unknown>;
      if (flags.json === true) return output(flags, result, [], []);
      const message = result.message as { text?: string; unregisterURL?: string | null } | undefined;
      const revoked = result.revoked === undefined ? '' : result.revoked === true ? ' and revoked its grant at the provider' : '; the grant was NOT revoked at the provider';
      process.stdout.write(`Deleted ${id}${revoked}\n`);
      if (result.revoked === false && message?.text !== undefined) process.stdout.write(`${message.text}${message.unregisterURL ? `\n  ${message.unregisterURL}` : ''}\n`);
    }));
}

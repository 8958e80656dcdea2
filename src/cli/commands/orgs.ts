/**
 * `plugboard orgs create|list`: organizations, through the REST API. `create` prints the new organization's admin
 * API key and secrets once.
 */
import type { Command } from 'commander';
import { action, callApi, output, withClientFlags, type ClientFlags } from '../client.ts';

interface CreatedOrganization {
  organization: { id: string; name: string; createdAt: string };
  user: { id: string; email: string };
  organizationSecret: string;
  userSecret: string;
  apiKey: { id: string; secret: string };
}

export function register(program: Command): void {
  const orgs = program.command('orgs').description('Manage organizations (tenants)');

  withClientFlags(orgs.command('create <name>').description('Create an organization with its admin user and admin API key'))
    .option('--admin-email <email>', 'email of the first admin user', 'admin@localhost')
    .action(action(async (name: string, flags: ClientFlags & { adminEmail: string }) => {
      const created = (await callApi(flags, 'POST', '/organizations', { name, admin: { email: flags.adminEmail } })) as CreatedOrganization;
      if (flags.json === true) return output(flags, created, [], []);
      process.stdout.write(
        [
          `Created organization ${created.organization.name} (${created.organization.id}). Shown only this once:`,
          `  API key:              ${created.apiKey.secret}`,
          `  User secret:          ${created.userSecret}`,
          `  Organization secret:  ${created.organizationSecret}`,
          '',
        ].join('\n'),
      );
    }));

  withClientFlags(orgs.command('list').description('List organizations (all of them for platform administrators)'))
    .action(action(async (flags: ClientFlags) => {
      const data = (await callApi(flags, 'GET', '/organizations')) as { organizations: Array<Record<string, unknown>> };
      output(flags, data, data.organizations, ['id', 'name', 'createdAt']);
    }));
}

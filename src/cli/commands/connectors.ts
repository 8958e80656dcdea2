/**
 * `plugboard connectors validate|deploy|list|show|oauth-app`: connector definitions. `validate` works offline (no
 * server): it loads each file and compiles its flows, printing every problem with file, line, column and path.
 * `deploy` validates locally first, then sends the definition to `PUT /elements/{key}` as a new version. The OAuth
 * app secret is read from an environment variable or stdin, never from the command line (shell history keeps that).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { PlugboardError } from '../../core/errors.ts';
import { parseConnectorText, problemsToError } from '../../connectors/load.ts';
import { compileFlows } from '../../connectors/registry.ts';
import type { ConnectorDefinition } from '../../connectors/schema.ts';
import { action, callApi, CliError, output, withClientFlags, type ClientFlags } from '../client.ts';

interface FileCheck {
  file: string;
  ok: boolean;
  key?: string;
  name?: string;
  flows?: string[];
  problems: Array<{ path: string; message: string }>;
}

/** Loads and compiles one file; never throws for a bad definition (the problems are the result). */
export async function checkFile(file: string): Promise<{ check: FileCheck; definition?: ConnectorDefinition; text?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { check: { file, ok: false, problems: [{ path: file, message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` }] } };
  }
  const parsed = parseConnectorText(text, file);
  if (!parsed.ok) {
    const error = problemsToError(parsed.problems);
    return { check: { file, ok: false, problems: error.details ?? [] }, text };
  }
  try {
    compileFlows(parsed.definition, file);
  } catch (error) {
    if (!(error instanceof PlugboardError)) throw error;
    return { check: { file, ok: false, key: parsed.definition.key, problems: error.details ?? [{ path: file, message: error.message }] }, text };
  }
  const def = parsed.definition;
  return { check: { file, ok: true, key: def.key, name: def.name, flows: def.flows.map((f) => f.name), problems: [] }, definition: def, text };
}

function printChecks(checks: FileCheck[]): void {
  const lines: string[] = [];
  for (const check of checks) {
    if (check.ok) lines.push(`ok    ${check.file}: ${check.key} (${check.name}), flows: ${check.flows?.join(', ') || 'none'}`);
    else {
      lines.push(`FAIL  ${check.file}: ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}`);
      for (const p of check.problems) lines.push(`      ${p.path}: ${p.message}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('no client secret: set the environment variable named by --client-secret-env, or pipe the secret on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

export function register(program: Command): void {
  const connectors = program.command('connectors').description('Validate, deploy and inspect connector definitions');

  connectors
    .command('validate <files...>')
    .description('Check connector files offline (schema and flow compilation); exit status 1 when any fails')
    .option('--json', 'print JSON instead of text')
    .action(action(async (files: string[], flags: { json?: boolean }) => {
      const checks = [];
      for (const file of files) checks.push((await checkFile(file)).check);
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ files: checks }, null, 2)}\n`);
      else printChecks(checks);
      if (checks.some((c) => !c.ok)) process.exitCode = 1;
    }));

  withClientFlags(connectors.command('deploy <file>').description('Validate a connector file, then deploy it to the organization as a new version'))
    .action(action(async (file: string, flags: ClientFlags) => {
      const { check, text } = await checkFile(file);
      if (!check.ok || text === undefined || check.key === undefined) {
        if (flags.json === true) process.stdout.write(`${JSON.stringify({ files: [check] }, null, 2)}\n`);
        else printChecks([check]);
        throw new CliError(`${file} is invalid; nothing was deployed`);
      }
      // The definition as written (no defaults filled in), so the stored source matches the file.
      const body = parseYaml(text) as unknown;
      const deployed = (await callApi(flags, 'PUT', `/elements/${check.key}`, body)) as { key: string; name: string; version: number };
      if (flags.json === true) return output(flags, deployed, [], []);
      process.stdout.write(`Deployed ${deployed.key} (${deployed.name}) as version ${deployed.version}.\n`);
    }));

  withClientFlags(connectors.command('list').description('List the connectors the organization sees (built-in and private)'))
    .action(action(async (flags: ClientFlags) => {
      const data = (await callApi(flags, 'GET', '/elements')) as { elements: Array<Record<string, any>> };
      const rows = data.elements.map((e) => ({
        key: e.key, name: e.name, origin: e.origin, version: e.version, auth: e.authType,
        revoke: e.revocation === null ? '-' : `${e.revocation.style}${e.revocation.confirmed ? '' : ' (unconfirmed)'}`,
        oauthApp: e.oauthApp?.clientId ?? '-',
      }));
      output(flags, data, rows, ['key', 'name', 'origin', 'version', 'auth', 'revoke', 'oauthApp']);
    }));

  withClientFlags(connectors.command('show <key>').description('Show one connector and its definition'))
    .action(action(async (key: string, flags: ClientFlags) => {
      const data = (await callApi(flags, 'GET', `/elements/${encodeURIComponent(key)}`)) as Record<string, any>;
      if (flags.json === true) return output(flags, data, [], []);
      const lines = [
        `${data.name} (${data.key}), ${data.origin}${data.origin === 'private' ? ` version ${data.version}` : ''}`,
        `auth: ${data.authType}; base URL: ${data.baseUrl}`,
        `OAuth app: ${data.oauthApp === null ? 'not set' : data.oauthApp.clientId}`,
        `revocation: ${data.revocation === null ? 'no provenance recorded' : `${data.revocation.style}, ${data.revocation.confirmed ? 'confirmed' : `UNCONFIRMED: ${data.revocation.statement ?? ''}`}`}`,
        `unregister URL: ${data.unregisterUrl ?? '-'}`,
        '',
        stringifyYaml(data.definition).trimEnd(),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }));

  withClientFlags(connectors.command('oauth-app <key>').description("Set the organization's OAuth app (client id and secret) for a connector"))
    .requiredOption('--client-id <id>', 'OAuth client id')
    .option('--client-secret-env <name>', 'environment variable holding the client secret (else it is read from stdin)', 'PLUGBOARD_CLIENT_SECRET')
    .action(action(async (key: string, flags: ClientFlags & { clientId: string; clientSecretEnv: string }) => {
      const fromEnv = process.env[flags.clientSecretEnv];
      const secret = fromEnv !== undefined && fromEnv !== '' ? fromEnv : await readStdin();
      if (secret === '') throw new CliError('the client secret is empty');
      const data = (await callApi(flags, 'PUT', `/elements/${encodeURIComponent(key)}/oauth-app`, { clientId: flags.clientId, clientSecret: secret })) as Record<string, unknown>;
      if (flags.json === true) return output(flags, data, [], []);
      process.stdout.write(`OAuth app of ${String(data.key)} set: client id ${String(data.clientId)} (the secret is stored encrypted and never shown).\n`);
    }));
}

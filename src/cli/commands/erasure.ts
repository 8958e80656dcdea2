/**
 * `plugboard erasure`: GDPR erasure requests through the REST API. `request` files one (by external user id, tag or
 * instance ids), follows it with a progress bar on stderr and closes with the receipt as a table (or the receipt JSON
 * with `--json`); `show` prints a receipt, `list` the organization's requests.
 */
import type { Command } from 'commander';
import { action, callApi, CliError, output, withClientFlags, type ClientFlags } from '../client.ts';
import type { ErasureReceiptBody } from '../../api/contracts/revocation.ts';

interface RequestFlags extends ClientFlags {
  externalUser?: string;
  tag?: string;
  instances?: string;
  wait: boolean;
  timeout: string;
}

const DONE = new Set(['completed', 'completed_with_manual_steps']);
const BAR_WIDTH = 30;

function progressLine(receipt: Pick<ErasureReceiptBody, 'status' | 'total' | 'remaining'>): string {
  if (receipt.status === 'pending' && receipt.total === 0) return 'collecting connections...';
  const ended = receipt.total - receipt.remaining;
  const share = receipt.total === 0 ? 1 : ended / receipt.total;
  const filled = Math.round(share * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${ended}/${receipt.total} revocations ended (${receipt.status})`;
}

/** Every receipt line, following the cursor. */
async function fullReceipt(flags: ClientFlags, id: string): Promise<ErasureReceiptBody> {
  const first = (await callApi(flags, 'GET', `/erasure-requests/${encodeURIComponent(id)}?limit=10000`)) as ErasureReceiptBody;
  let cursor = first.nextCursor;
  while (cursor !== null) {
    const page = (await callApi(flags, 'GET', `/erasure-requests/${encodeURIComponent(id)}?limit=10000&cursor=${encodeURIComponent(cursor)}`)) as ErasureReceiptBody;
    first.connections.push(...page.connections);
    cursor = page.nextCursor;
  }
  first.nextCursor = null;
  return first;
}

function printReceipt(flags: ClientFlags, receipt: ErasureReceiptBody): void {
  if (flags.json === true) return output(flags, receipt, [], []);
  const rows = receipt.connections.map((line) => ({
    instance: line.instanceId,
    connector: line.connector,
    revoked: line.revoked ? 'yes' : 'no',
    verified: line.verified ? 'yes' : 'no',
    provider: line.providerStatus,
    attempts: line.attempts,
    'manual step': line.manualStep === null ? null : `${line.manualStep.text}${line.manualStep.unregisterURL === null ? '' : ` (${line.manualStep.unregisterURL})`}`,
  }));
  output(flags, receipt, rows, ['instance', 'connector', 'revoked', 'verified', 'provider', 'attempts', 'manual step']);
  const t = receipt.totals;
  process.stdout.write(`Erasure ${receipt.id}: ${receipt.status}. ${t.connections} connections, ${t.revoked} revoked (${t.verified} verified), ${t.manual + t.failed} with a manual step, ${t.pending} pending.\n`);
}

export function register(program: Command): void {
  const erasure = program.command('erasure').description('GDPR erasure requests: revoke and erase every connection of a person');

  withClientFlags(erasure.command('request').description('Erase the connections of a person (or a tag, or listed instances) and show the receipt'))
    .option('--external-user <id>', 'the external user id of the person')
    .option('--tag <tag>', 'erase every connection with this tag')
    .option('--instances <ids>', 'comma-separated instance ids')
    .option('--no-wait', 'print the request id and return at once')
    .option('--timeout <seconds>', 'how long to follow the request before giving up (it continues on the server)', '600')
    .action(action(async (flags: RequestFlags) => {
      const subjects = [flags.externalUser, flags.tag, flags.instances].filter((v) => v !== undefined);
      if (subjects.length !== 1) throw new CliError('name exactly one subject: --external-user <id>, --tag <tag> or --instances <id,id,...>');
      const timeoutSeconds = Number(flags.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError(`--timeout must be a positive number of seconds, got "${flags.timeout}"`);
      const body: Record<string, unknown> = {};
      if (flags.externalUser !== undefined) body.externalUserId = flags.externalUser;
      if (flags.tag !== undefined) body.tag = flags.tag;
      if (flags.instances !== undefined) {
        const ids = flags.instances.split(',').map((id) => id.trim()).filter((id) => id !== '');
        if (ids.length === 0) throw new CliError('--instances is empty; give comma-separated instance ids');
        body.instanceIds = ids;
      }
      const created = (await callApi(flags, 'POST', '/erasure-requests', body)) as { id: string; status: string };
      if (!flags.wait) {
        if (flags.json === true) return output(flags, created, [], []);
        process.stdout.write(`Erasure request ${created.id} accepted (${created.status}); follow it with: plugboard erasure show ${created.id}\n`);
        return;
      }
      const deadline = Date.now() + timeoutSeconds * 1000;
      const tty = process.stderr.isTTY === true && flags.json !== true;
      let last = '';
      for (;;) {
        const receipt = (await callApi(flags, 'GET', `/erasure-requests/${encodeURIComponent(created.id)}?limit=1`)) as ErasureReceiptBody;
        const line = progressLine(receipt);
        if (flags.json !== true && line !== last) {
          process.stderr.write(tty ? `\r${line}` : `${line}\n`);
          last = line;
        }
        if (DONE.has(receipt.status)) break;
        if (Date.now() > deadline) {
          if (tty) process.stderr.write('\n');
          throw new CliError(`the erasure ${created.id} is still ${receipt.status} after ${timeoutSeconds} s; it continues on the server (plugboard erasure show ${created.id})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (tty) process.stderr.write('\n');
      printReceipt(flags, await fullReceipt(flags, created.id));
    }));

  withClientFlags(erasure.command('show <id>').description('Show the receipt of an erasure request'))
    .action(action(async (id: string, flags: ClientFlags) => {
      printReceipt(flags, await fullReceipt(flags, id));
    }));

  withClientFlags(erasure.command('list').description('List erasure requests, newest first'))
    .option('--limit <n>', 'how many', '50')
    .action(action(async (flags: ClientFlags & { limit: string }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new CliError(`--limit must be an integer from 1 to 200, got "${flags.limit}"`);
      const data = (await callApi(flags, 'GET', `/erasure-requests?limit=${limit}`)) as { items: Array<Record<string, unknown>> };
      const rows = data.items.map((item) => ({ ...item, subject: JSON.stringify(item.subject) }));
      output(flags, data, rows, ['id', 'status', 'subject', 'total', 'remaining', 'createdAt', 'completedAt']);
    }));
}

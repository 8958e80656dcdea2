/**
 * `plugboard webhooks`: the organization's webhooks through the REST API: `add <url> --events ...` (prints the
 * signing secret, once), `list`, `test <id>` (a signed test delivery; `--wait` follows it to its outcome),
 * `deliveries <id>` (the delivery log) and `remove <id>`. `--json` prints the API's answer unchanged.
 */
import type { Command } from 'commander';
import { action, callApi, CliError, output, withClientFlags, type ClientFlags } from '../client.ts';

interface WebhookView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  createdAt: string;
}

interface DeliveryView {
  id: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
}

const path = (id: string, suffix = '') => `/webhooks/${encodeURIComponent(id)}${suffix}`;

export function register(program: Command): void {
  const webhooks = program.command('webhooks').description('Manage webhooks: signed deliveries of lifecycle events');

  withClientFlags(webhooks.command('add <url>').description('Subscribe a receiver URL to event types; prints the signing secret once'))
    .requiredOption('--events <list>', 'comma-separated event types (instance.invalidated,instance.revoked,...) or "*" for all')
    .option('--description <text>', 'a note for people reading the list')
    .action(action(async (url: string, flags: ClientFlags & { events: string; description?: string }) => {
      const events = flags.events.split(',').map((e) => e.trim()).filter((e) => e !== '');
      if (events.length === 0) throw new CliError('--events needs at least one event type, or "*" for all');
      const body: Record<string, unknown> = { url, events };
      if (flags.description !== undefined) body.description = flags.description;
      const created = (await callApi(flags, 'POST', '/webhooks', body)) as WebhookView & { signingSecret: string };
      if (flags.json === true) return output(flags, created, [], []);
      process.stdout.write(`Created webhook ${created.id} -> ${created.url} (${created.events.join(', ')})\n`);
      process.stdout.write(`Signing secret (shown once; store it with the receiver): ${created.signingSecret}\n`);
    }));

  withClientFlags(webhooks.command('list').description('List webhooks (never their secrets)'))
    .action(action(async (flags: ClientFlags) => {
      const result = (await callApi(flags, 'GET', '/webhooks')) as { webhooks: WebhookView[] };
      output(flags, result, result.webhooks.map((w) => ({ ...w })), ['id', 'url', 'events', 'enabled', 'createdAt']);
    }));

  withClientFlags(webhooks.command('test <id>').description('Send a signed webhook.test delivery to the receiver'))
    .option('--wait', 'wait for the delivery to succeed or fail for good (up to --timeout seconds)')
    .option('--timeout <seconds>', 'how long --wait waits', '30')
    .action(action(async (id: string, flags: ClientFlags & { wait?: boolean; timeout: string }) => {
      const started = (await callApi(flags, 'POST', path(id, '/test'))) as { deliveryId: string; status: string };
      if (flags.wait !== true) {
        if (flags.json === true) return output(flags, started, [], []);
        process.stdout.write(`Test delivery ${started.deliveryId} queued; see: plugboard webhooks deliveries ${id}\n`);
        return;
      }
      const seconds = Number(flags.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--timeout must be a positive number of seconds, got "${flags.timeout}"`);
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const log = (await callApi(flags, 'GET', path(id, '/deliveries?limit=50'))) as { deliveries: DeliveryView[] };
        const delivery = log.deliveries.find((d) => d.id === started.deliveryId);
        if (delivery !== undefined && delivery.status !== 'pending') {
          if (flags.json === true) return output(flags, delivery, [], []);
          const how = delivery.status === 'succeeded' ? `succeeded (HTTP ${delivery.lastStatusCode})` : `failed: ${delivery.lastError ?? 'unknown error'}`;
          process.stdout.write(`Test delivery ${delivery.id} ${how} after ${delivery.attempts} attempt(s)\n`);
          if (delivery.status === 'failed') process.exitCode = 1;
          return;
        }
        if (Date.now() > deadline) {
          throw new CliError(`Test delivery ${started.deliveryId} still pending after ${seconds} s (attempts so far: ${delivery?.attempts ?? 0}, last error: ${delivery?.lastError ?? 'none'})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }));

  withClientFlags(webhooks.command('deliveries <id>').description('Show the delivery log of a webhook, newest first'))
    .option('--limit <n>', 'how many (1-200)', '20')
    .action(action(async (id: string, flags: ClientFlags & { limit: string }) => {
      const result = (await callApi(flags, 'GET', path(id, `/deliveries?limit=${encodeURIComponent(flags.limit)}`))) as { deliveries: DeliveryView[] };
      output(flags, result, result.deliveries.map((d) => ({ ...d })), ['id', 'eventType', 'status', 'attempts', 'lastStatusCode', 'lastError', 'createdAt']);
    }));

  withClientFlags(webhooks.command('remove <id>').description('Delete a webhook and its delivery log'))
    .action(action(async (id: string, flags: ClientFlags) => {
      await callApi(flags, 'DELETE', path(id));
      if (flags.json === true) return output(flags, { id, deleted: true }, [], []);
      process.stdout.write(`Deleted webhook ${id}\n`);
    }));
}

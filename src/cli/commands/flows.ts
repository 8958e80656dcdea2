/**
 * `plugboard flows`: run a connector flow against a connection and read execution history, through the REST API.
 * `run <connector> <flow> --connection <id> --input key=value` (repeatable; a value that parses as JSON is taken as
 * JSON, anything else as text), `executions` (the same filters as GET /executions) and `execution <id>` (one
 * execution with its card records). `--json` prints the API's answer unchanged. Vault values arrive as `[redacted]`.
 */
import type { Command } from 'commander';
import { action, callApi, CliError, output, withClientFlags, type ClientFlags } from '../client.ts';
import type { Instance } from '../../api/contracts/instances.ts';
import type { ExecutionDetailView, ExecutionSummaryView, FlowRunResultView } from '../../api/contracts/executions.ts';

const COLUMNS = ['id', 'flow', 'status', 'connectionId', 'startedAt', 'durationMs', 'cardsExecuted', 'error'];

/** `key=value` pairs into an inputs object; JSON values (numbers, booleans, objects, quoted text) are parsed. */
export function parseInputs(pairs: readonly string[]): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--input ${JSON.stringify(pair)}: expected key=value, e.g. --input relative_url=/users/me`);
    const key = pair.slice(0, at);
    const raw = pair.slice(at + 1);
    if (Object.hasOwn(inputs, key)) throw new CliError(`--input ${key} is given twice`);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: the value is the text as typed.
    }
    inputs[key] = value;
  }
  return inputs;
}

function summaryRow(execution: ExecutionSummaryView): Record<string, unknown> {
  return { ...execution, error: execution.error === null ? null : `${execution.error.code}: ${execution.error.message}` };
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  const flows = program.command('flows').description('Run connector flows and read execution history');

  withClientFlags(flows.command('run <connector> <flow>').description('Run an action or helper flow of a connector against a connection'))
    .requiredOption('--connection <id>', 'the connection (instance) whose auth object the flow uses')
    .option('--input <key=value>', 'a flow input (repeatable; JSON values are parsed)', collect, [])
    .action(action(async (connector: string, flow: string, flags: ClientFlags & { connection: string; input: string[] }) => {
      const inputs = parseInputs(flags.input);
      const instance = (await callApi(flags, 'GET', `/instances/${encodeURIComponent(flags.connection)}`)) as Instance;
      if (instance.element.key !== connector) {
        throw new CliError(`connection ${flags.connection} belongs to connector '${instance.element.key}', not '${connector}'`);
      }
      const result = (await callApi(flags, 'POST', `/instances/${encodeURIComponent(flags.connection)}/flows/${encodeURIComponent(flow)}/run`, { inputs })) as FlowRunResultView;
      if (flags.json === true) {
        output(flags, result, [], []);
      } else {
        process.stdout.write(`${flow} ${result.status} (execution ${result.executionId})\n`);
        if (result.error !== null) process.stdout.write(`error: ${result.error.code}: ${result.error.message}\n`);
        if (result.outputs !== null) process.stdout.write(`${JSON.stringify(result.outputs, null, 2)}\n`);
      }
      if (result.status !== 'succeeded') process.exitCode = 1;
    }));

  withClientFlags(flows.command('executions').description('List flow executions, newest first'))
    .option('--connection <id>', 'only this connection')
    .option('--flow <name>', 'only this flow')
    .option('--status <status>', 'succeeded or failed')
    .option('--from <instant>', 'started at or after (ISO-8601)')
    .option('--to <instant>', 'started before (ISO-8601)')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--cursor <cursor>', 'the nextCursor of a previous page')
    .action(action(async (flags: ClientFlags & { connection?: string; flow?: string; status?: string; from?: string; to?: string; limit: string; cursor?: string }) => {
      const query = new URLSearchParams({ limit: flags.limit });
      if (flags.connection !== undefined) query.set('connectionId', flags.connection);
      for (const name of ['flow', 'status', 'from', 'to', 'cursor'] as const) {
        const value = flags[name];
        if (value !== undefined) query.set(name, value);
      }
      const page = (await callApi(flags, 'GET', `/executions?${query}`)) as { executions: ExecutionSummaryView[]; nextCursor: string | null };
      output(flags, page, page.executions.map(summaryRow), COLUMNS);
      if (flags.json !== true && page.nextCursor !== null) process.stdout.write(`(more: --cursor ${page.nextCursor})\n`);
    }));

  withClientFlags(flows.command('execution <id>').description('Show one execution with its card records'))
    .action(action(async (id: string, flags: ClientFlags) => {
      const execution = (await callApi(flags, 'GET', `/executions/${encodeURIComponent(id)}`)) as ExecutionDetailView;
      if (flags.json === true) return output(flags, execution, [], []);
      process.stdout.write(`${execution.id}: ${execution.connectorKey} ${execution.flow} ${execution.status} in ${execution.durationMs} ms, ${execution.cardsExecuted} cards\n`);
      if (execution.error !== null) process.stdout.write(`error: ${execution.error.code}: ${execution.error.message}\n`);
      output(
        flags,
        execution,
        execution.cards.map((card) => ({ seq: card.seq, flow: card.flow, card: card.card, type: card.type, durationMs: card.durationMs, error: card.error?.message ?? null })),
        ['seq', 'flow', 'card', 'type', 'durationMs', 'error'],
      );
    }));
}

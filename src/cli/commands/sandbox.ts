/**
 * `plugboard sandbox`: run the sandbox provider alone in the foreground, or drive a running one through its admin API
 * (`fault set|clear|list`, `counters`). The admin commands are thin: they send one HTTP request and print the answer
 * (a table, or the raw JSON with `--json`). docs/sandbox.md describes the options.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { request } from 'undici';
import { DEFAULT_SANDBOX_PORT, ENDPOINTS, startSandbox, type FaultSpec, type FaultStatus } from '../../sandbox/index.ts';

interface AdminFlags {
  url: string;
  adminToken?: string;
  json?: boolean;
}

class CliError extends Error {}

function defaultUrl(): string {
  return process.env.PLUGBOARD_SANDBOX_URL ?? `http://127.0.0.1:${DEFAULT_SANDBOX_PORT}`;
}

function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

async function callAdmin(flags: AdminFlags, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const base = flags.url.replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  const token = flags.adminToken ?? process.env.PLUGBOARD_SANDBOX_ADMIN_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await request(`${base}/_admin${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), headersTimeout: 10_000, bodyTimeout: 10_000 });
  } catch (err) {
    throw new CliError(`cannot reach the sandbox at ${base} (${err instanceof Error ? err.message : String(err)}); start it with "plugboard sandbox" or pass --url`);
  }
  const text = await res.body.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${base} answered HTTP ${res.statusCode} with a non-JSON body: is it a Plugboard sandbox?`);
    }
  }
  if (res.statusCode >= 400) {
    const e = parsed as { error?: string; error_description?: string } | null;
    const hint = res.statusCode === 401 ? ' (pass --admin-token or set PLUGBOARD_SANDBOX_ADMIN_TOKEN)' : '';
    throw new CliError(`sandbox admin API: HTTP ${res.statusCode} ${e?.error ?? ''}: ${e?.error_description ?? text}${hint}`);
  }
  return parsed;
}

/** Where a command prints: commander's configured output (so embedding programs and tests can capture it). */
function printer(cmd: Command): { out: (s: string) => void; err: (s: string) => void } {
  const o = cmd.configureOutput();
  return {
    out: (s) => (o.writeOut ? o.writeOut(s) : void process.stdout.write(s)),
    err: (s) => (o.writeErr ? o.writeErr(s) : void process.stderr.write(s)),
  };
}

function run(cmd: Command, action: (print: (s: string) => void) => Promise<void>): Promise<void> {
  const p = printer(cmd);
  return action(p.out).catch((err: unknown) => {
    p.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

function describeFault(f: FaultStatus): string {
  const what =
    f.kind === 'status' ? `HTTP ${f.status ?? 503}` : f.kind === 'rate_limit' ? `429 Retry-After ${f.retryAfter ?? 1}s` : f.kind === 'latency' ? `+${f.latencyMs} ms` : f.kind;
  const extra = [f.kind !== 'latency' && f.latencyMs ? `after ${f.latencyMs} ms` : '', f.everyNth ? `one call in ${f.everyNth}` : '', f.times ? `${f.times} time(s)` : '', f.clientId ? `client ${f.clientId}` : '']
    .filter((s) => s !== '')
    .join(', ');
  return `${f.endpoint.padEnd(11)} ${what}${extra ? ` (${extra})` : ''}  calls=${f.calls} applied=${f.applied}`;
}

interface FaultFlags extends AdminFlags {
  status?: number;
  rateLimit?: boolean;
  retryAfter?: number;
  latency?: number;
  reset?: boolean;
  hang?: boolean;
  every?: number;
  times?: number;
  client?: string;
}

/** Turn `fault set` flags into a fault spec; exactly one kind must be chosen (latency alone is a kind too). */
export function faultFromFlags(flags: FaultFlags): FaultSpec {
  const kinds = [flags.status !== undefined && 'status', flags.rateLimit && 'rate_limit', flags.reset && 'reset', flags.hang && 'hang'].filter((k): k is FaultSpec['kind'] => typeof k === 'string');
  if (kinds.length > 1) throw new CliError(`choose one fault kind, got ${kinds.join(' and ')}`);
  const kind = kinds[0] ?? (flags.latency !== undefined ? 'latency' : undefined);
  if (!kind) throw new CliError('choose a fault: --status <code>, --rate-limit, --latency <ms>, --reset or --hang');
  if (flags.retryAfter !== undefined && kind !== 'rate_limit') throw new CliError('--retry-after goes with --rate-limit');
  const spec: FaultSpec = { kind };
  if (kind === 'status') spec.status = flags.status;
  if (kind === 'rate_limit' && flags.retryAfter !== undefined) spec.retryAfter = flags.retryAfter;
  if (flags.latency !== undefined) spec.latencyMs = flags.latency;
  if (flags.every !== undefined) spec.everyNth = flags.every;
  if (flags.times !== undefined) spec.times = flags.times;
  if (flags.client !== undefined) spec.clientId = flags.client;
  return spec;
}

function endpointArg(value: string): string {
  if (!(ENDPOINTS as readonly string[]).includes(value)) throw new CliError(`endpoint must be one of ${ENDPOINTS.join(', ')}, got "${value}"`);
  return value;
}

function adminOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'base URL of the running sandbox (env PLUGBOARD_SANDBOX_URL)', defaultUrl())
    .option('--admin-token <token>', 'admin token, when the sandbox requires one (env PLUGBOARD_SANDBOX_ADMIN_TOKEN)')
    .option('--json', 'print the raw JSON answer');
}

export function register(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('run the sandbox OAuth provider alone, or manage faults and counters of a running one')
    .option('--port <port>', `port to listen on (0 = any free port)`, intArg('--port', 0, 65535), DEFAULT_SANDBOX_PORT)
    .option('--host <host>', 'address to bind (anything but loopback prints a warning)', '127.0.0.1')
    .option('--auto-approve', 'approve every authorization request without the consent page')
    .option('--admin-token <token>', 'require this bearer token on the admin API')
    .option('--json', 'print the start-up line as JSON')
    .action((opts: { port: number; host: string; autoApprove?: boolean; adminToken?: string; json?: boolean }, cmd: Command) =>
      run(cmd, async (print) => {
        const sb = await startSandbox({ port: opts.port, host: opts.host, autoApprove: opts.autoApprove ?? false, adminToken: opts.adminToken });
        if (opts.json) print(JSON.stringify({ url: sb.url, issuer: sb.issuer, adminTokenRequired: sb.adminToken !== null }) + '\n');
        else print(`sandbox provider listening on ${sb.url} (metadata: ${sb.url}/.well-known/oauth-authorization-server); Ctrl-C to stop\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await sb.close();
      }),
    );

  const fault = sandbox.command('fault').description('set, clear or list injected faults on a running sandbox');
  adminOptions(
    fault
      .command('set <endpoint>')
      .description(`inject a fault on one endpoint (${ENDPOINTS.join(', ')})`)
      .option('--status <code>', 'answer this HTTP status (400-599)', intArg('--status', 400, 599))
      .option('--rate-limit', 'answer 429 with Retry-After')
      .option('--retry-after <seconds>', 'Retry-After for --rate-limit', intArg('--retry-after', 1, 86400))
      .option('--latency <ms>', 'add this delay (alone: then answer normally)', intArg('--latency', 0, 600000))
      .option('--reset', 'reset the connection without answering')
      .option('--hang', 'never answer until the client gives up')
      .option('--every <n>', 'only every Nth call', intArg('--every', 1, 1000000))
      .option('--times <n>', 'only the next N hits, then clear', intArg('--times', 1, 1000000))
      .option('--client <id>', 'only calls from this client'),
  ).action((endpoint: string, _flags: FaultFlags, cmd: Command) =>
    run(cmd, async (print) => {
      const flags = cmd.optsWithGlobals<FaultFlags>();
      const spec = faultFromFlags(flags);
      const out = (await callAdmin(flags, 'PUT', `/faults/${endpointArg(endpoint)}`, spec)) as FaultStatus;
      print(flags.json ? JSON.stringify(out) + '\n' : `fault set: ${describeFault(out)}\n`);
    }),
  );
  adminOptions(fault.command('clear [endpoint]').description('clear the fault of one endpoint, or all faults')).action((endpoint: string | undefined, _flags: AdminFlags, cmd: Command) =>
    run(cmd, async (print) => {
      const flags = cmd.optsWithGlobals<AdminFlags>();
      await callAdmin(flags, 'DELETE', endpoint === undefined ? '/faults' : `/faults/${endpointArg(endpoint)}`);
      print(flags.json ? JSON.stringify({ cleared: endpoint ?? 'all' }) + '\n' : `cleared ${endpoint === undefined ? 'all faults' : `the fault on ${endpoint}`}\n`);
    }),
  );
  adminOptions(fault.command('list').description('list active faults')).action((_flags: AdminFlags, cmd: Command) =>
    run(cmd, async (print) => {
      const flags = cmd.optsWithGlobals<AdminFlags>();
      const out = (await callAdmin(flags, 'GET', '/faults')) as { faults: FaultStatus[] };
      if (flags.json) print(JSON.stringify(out) + '\n');
      else print(out.faults.length === 0 ? 'no faults\n' : out.faults.map(describeFault).join('\n') + '\n');
    }),
  );

  adminOptions(sandbox.command('counters').description('show call counters per endpoint and client').option('--reset', 'reset the counters to zero')).action(
    (_flags: AdminFlags, cmd: Command) =>
      run(cmd, async (print) => {
        // Options shared with the parent command (--json, --admin-token) may be parsed there: merge them.
        const flags = cmd.optsWithGlobals<AdminFlags & { reset?: boolean }>();
        if (flags.reset) {
          await callAdmin(flags, 'DELETE', '/counters');
          print(flags.json ? JSON.stringify({ reset: true }) + '\n' : 'counters reset\n');
          return;
        }
        const out = (await callAdmin(flags, 'GET', '/counters')) as {
          counters: Record<string, { calls: number; outcomes: Record<string, number>; clients: Record<string, { calls: number; outcomes: Record<string, number> }> }>;
        };
        if (flags.json) return print(JSON.stringify(out) + '\n');
        const lines: string[] = [];
        const fmt = (o: Record<string, number>): string => Object.entries(o).map(([k, v]) => `${k}:${v}`).join(' ');
        for (const [endpoint, c] of Object.entries(out.counters)) {
          lines.push(`${endpoint.padEnd(11)} ${String(c.calls).padStart(7)}  ${fmt(c.outcomes)}`);
          for (const [client, cc] of Object.entries(c.clients)) lines.push(`  ${client.padEnd(26)} ${String(cc.calls).padStart(7)}  ${fmt(cc.outcomes)}`);
        }
        print(lines.length === 0 ? 'no calls yet\n' : lines.join('\n') + '\n');
      }),
  );
}

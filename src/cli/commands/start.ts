/**
 * `plugboard start` (what `npm start` runs): the server on 127.0.0.1:8080 with the embedded store in ./data (or
 * PostgreSQL with DATABASE_URL), and the sandbox provider beside it on 127.0.0.1:8081 unless SANDBOX=off. On the
 * first start of an empty store it prints the admin credentials once (and sets the sandbox connectors' OAuth apps when
 * the sandbox runs). `--json` prints one JSON line per event instead (`credentials`, `ready`, `stopped`) and sends the
 * logs to stderr. SIGTERM and SIGINT shut down gracefully.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type ConfigOverrides, type LogLevel } from '../../config.ts';
import { startApp } from '../../app.ts';

interface StartFlags {
  port?: number;
  host?: string;
  databaseUrl?: string;
  dataDir?: string;
  publicUrl?: string;
  logLevel?: string;
  bodyLimit?: number;
  sandbox?: boolean;
  sandboxPort?: number;
  json?: boolean;
}

function integer(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}

const SANDBOX_MODULE = new URL('../../sandbox/index.ts', import.meta.url);

interface SandboxHandle {
  url: string;
  close(): Promise<void>;
}

async function startSandboxIfPresent(host: string, port: number): Promise<SandboxHandle | null> {
  if (!existsSync(fileURLToPath(SANDBOX_MODULE))) return null;
  // Imported dynamically: start works in a checkout without the sandbox module.
  const mod = (await import(SANDBOX_MODULE.href)) as { startSandbox?: (opts: { port: number; host: string }) => Promise<SandboxHandle> };
  if (typeof mod.startSandbox !== 'function') return null;
  return mod.startSandbox({ port, host });
}

export function register(program: Command): void {
  program
    .command('start')
    .description('Start the Plugboard server (and the sandbox provider beside it)')
    .option('--port <port>', 'HTTP port (PORT, default 8080)', integer('--port'))
    .option('--host <host>', 'interface to bind (HOST, default 127.0.0.1)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL; default: embedded SQLite)')
    .option('--data-dir <dir>', 'data folder (PLUGBOARD_DATA_DIR, default ./data)')
    .option('--public-url <url>', 'public base URL for OAuth redirects (PLUGBOARD_PUBLIC_URL)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (LOG_LEVEL, default info)')
    .option('--body-limit <bytes>', 'largest request body (PLUGBOARD_BODY_LIMIT, default 1048576)', integer('--body-limit'))
    .option('--no-sandbox', 'do not start the sandbox provider (SANDBOX=off)')
    .option('--sandbox-port <port>', 'sandbox port (SANDBOX_PORT, default 8081)', integer('--sandbox-port'))
    .option('--json', 'print machine-readable JSON lines (ready, first-start credentials) on stdout; logs go to stderr')
    .action(async (flags: StartFlags) => {
      const overrides: ConfigOverrides = {};
      if (flags.port !== undefined) overrides.port = flags.port;
      if (flags.host !== undefined) overrides.host = flags.host;
      if (flags.databaseUrl !== undefined) overrides.databaseUrl = flags.databaseUrl;
      if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir;
      if (flags.publicUrl !== undefined) overrides.publicUrl = flags.publicUrl;
      if (flags.logLevel !== undefined) overrides.logLevel = flags.logLevel as LogLevel;
      if (flags.bodyLimit !== undefined) overrides.bodyLimit = flags.bodyLimit;
      overrides.sandbox = {};
      if (flags.sandbox === false) overrides.sandbox.enabled = false;
      if (flags.sandboxPort !== undefined) overrides.sandbox.port = flags.sandboxPort;
      // commander sets `sandbox: true` by default; only an explicit --no-sandbox overrides SANDBOX.
      const config = loadConfig(process.env, overrides);
      const json = flags.json === true;
      // With --json, stdout carries only the event lines; the pino logs move to stderr.
      const logStream = json ? (await import('pino')).default.destination({ fd: 2, sync: false }) : undefined;
      const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

      // The sandbox starts first so the built-in sandbox connectors can point at its real URL (SANDBOX_HOST/PORT).
      let sandbox: SandboxHandle | null = null;
      let sandboxError: unknown;
      if (config.sandbox.enabled) {
        try {
          sandbox = await startSandboxIfPresent(config.sandbox.host, config.sandbox.port);
        } catch (error) {
          sandboxError = error;
        }
      }
      let running;
      try {
        running = await startApp(config, { ...(logStream === undefined ? {} : { logStream }), ...(sandbox === null ? {} : { sandboxUrl: sandbox.url }) });
      } catch (error) {
        await sandbox?.close().catch(() => {});
        throw error;
      }
      const { ctx } = running;
      if (sandboxError !== undefined) {
        ctx.log.error({ err: sandboxError }, `the sandbox provider could not start on ${config.sandbox.host}:${config.sandbox.port}; the server runs without it (set SANDBOX_PORT or SANDBOX=off)`);
      } else if (sandbox !== null) {
        ctx.log.info({ url: sandbox.url }, 'sandbox provider listening on %s', sandbox.url);
      }
      if (running.bootstrap !== null) {
        const b = running.bootstrap;
        if (json) {
          emit({
            event: 'credentials', organizationId: b.organizationId, apiKey: b.apiKey, userSecret: b.userSecret,
            organizationSecret: b.organizationSecret, file: b.file ?? null, sandboxOAuthApps: b.sandboxOAuthApps ?? [],
          });
        } else {
          // Printed once, straight to the terminal: the logger would (rightly) redact it.
          process.stdout.write(
            [
              '',
              'First start: created the default organization and its admin credentials (shown only this once).',
              `  API key:              ${b.apiKey}`,
              `  User secret:          ${b.userSecret}`,
              `  Organization secret:  ${b.organizationSecret}`,
              b.file === undefined ? '  Store them safely: they are not kept in clear anywhere.' : `  Also written to ${b.file} (mode 0600).`,
              ...(b.sandboxOAuthApps === undefined || b.sandboxOAuthApps.length === 0
                ? []
                : [`  Sandbox OAuth apps set for ${b.sandboxOAuthApps.map((a) => a.connectorKey).join(', ')}: + New Connection works at once.`]),
              '',
            ].join('\n') + '\n',
          );
        }
      }
      const docs = `${running.url}/docs`;
      if (json) emit({ event: 'ready', url: running.url, docs, sandboxUrl: sandbox?.url ?? null, store: ctx.store.dialect });
      ctx.log.info({ url: running.url, docs, sandboxUrl: sandbox?.url ?? null }, 'ready: API reference at %s/docs', running.url);

      let stopping = false;
      const app = running;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        ctx.log.info({ signal }, 'received %s', signal);
        void (async () => {
          await app.close();
          await sandbox?.close().catch(() => {});
          if (json) emit({ event: 'stopped', signal });
          process.exit(0);
        })();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}

/**
 * Configuration of a Plugboard process, read once at start from environment variables (and CLI flags, which the
 * `start` command passes as overrides). Every setting is validated here so a bad value stops start-up with a message
 * that names the variable, what it holds and what is expected, instead of failing later in the middle of a request.
 * `docs/configuration.md` and the README table list the same settings.
 */
import path from 'node:path';
import { PlugboardError, type ErrorDetail } from './core/errors.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** TCP port of the REST API and console. */
  port: number;
  /** Interface the server binds to; loopback by default so a fresh install is not exposed. */
  host: string;
  /** PostgreSQL connection string; when absent the embedded SQLite store in `dataDir` is used. */
  databaseUrl?: string;
  /** Folder for the embedded store, the generated master key and the first-start admin credentials. */
  dataDir: string;
  /** Master key(s), base64 of 32 bytes, comma separated: the first wraps new data keys, the rest are accepted. */
  masterKey?: string;
  logLevel: LogLevel;
  /** The public base URL of this server (OAuth redirect URIs are built from it). */
  publicUrl: string;
  /** Maximum request body size in bytes. */
  bodyLimit: number;
  /** How long graceful shutdown waits for in-flight requests and running jobs before closing anyway. */
  shutdownTimeoutMs: number;
  /** Delay between adding a key version and sealing with it, so every process has loaded it first. */
  keyActivationDelayMs: number;
  /** How often each process reloads the keyring from the store. */
  keyringRefreshMs: number;
  /** The sandbox provider started beside the server by `plugboard start`. */
  sandbox: { enabled: boolean; host: string; port: number };
  /** Folder of the built web console, served at `/` when it exists. */
  webDir: string;
  /** Webhook delivery. `allowPrivateTargets` is the loud opt-in to loopback/private receivers (on-premises, tests). */
  webhooks: { allowPrivateTargets: boolean };
  /** The connection health checker: how often it runs, when a connection counts as idle, when it gets disabled. */
  health: { enabled: boolean; intervalMs: number; idleMs: number; refreshFailureLimit: number };
  /** Flow execution history: kept this many days, and at most this many executions per organization. */
  executions: { retentionDays: number; maxPerOrg: number };
  /** Origins the hosted OAuth callback may redirect to besides the server's own (an allow-list against open redirects). */
  oauthReturnOrigins: string[];
}

export type ConfigOverrides = Partial<Omit<Config, 'sandbox'>> & { sandbox?: Partial<Config['sandbox']> };

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The environment variables Plugboard reads, with their defaults, in the order the docs list them. */
export const ENVIRONMENT = [
  { name: 'PORT', flag: '--port', default: '8080', meaning: 'TCP port of the REST API and console.' },
  { name: 'HOST', flag: '--host', default: '127.0.0.1', meaning: 'Interface to bind; use 0.0.0.0 to accept remote connections.' },
  { name: 'DATABASE_URL', flag: '--database-url', default: '(unset: embedded SQLite)', meaning: 'PostgreSQL connection string; unset means the embedded SQLite store in the data folder.' },
  { name: 'PLUGBOARD_DATA_DIR', flag: '--data-dir', default: './data', meaning: 'Folder of the embedded store (plugboard.db), master.key and admin-credentials.' },
  { name: 'PLUGBOARD_MASTER_KEY', flag: '(none)', default: '(embedded: generated into data/master.key)', meaning: 'Base64 of 32 random bytes; several keys comma separated, the first is current. Required with PostgreSQL.' },
  { name: 'PLUGBOARD_PUBLIC_URL', flag: '--public-url', default: 'http://localhost:<PORT>', meaning: 'Public base URL; OAuth redirect URIs are built from it.' },
  { name: 'LOG_LEVEL', flag: '--log-level', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent.' },
  { name: 'PLUGBOARD_BODY_LIMIT', flag: '--body-limit', default: '1048576', meaning: 'Largest accepted request body in bytes (413 above).' },
  { name: 'PLUGBOARD_SHUTDOWN_TIMEOUT_MS', flag: '(none)', default: '10000', meaning: 'Bound on graceful shutdown: in-flight requests and running jobs.' },
  { name: 'PLUGBOARD_KEY_ACTIVATION_DELAY_MS', flag: '(none)', default: '10000', meaning: 'Wait between adding a data-key version and sealing with it (every process loads it first).' },
  { name: 'PLUGBOARD_KEYRING_REFRESH_MS', flag: '(none)', default: '5000', meaning: 'How often each process reloads the keyring from the store.' },
  { name: 'SANDBOX', flag: '--no-sandbox', default: 'on', meaning: 'Start the sandbox OAuth provider beside the server (on/off).' },
  { name: 'SANDBOX_PORT', flag: '--sandbox-port', default: '8081', meaning: 'Port of the sandbox provider.' },
  { name: 'SANDBOX_HOST', flag: '(none)', default: '127.0.0.1', meaning: 'Interface of the sandbox provider.' },
  { name: 'PLUGBOARD_WEB_DIR', flag: '(none)', default: './web/dist', meaning: 'Built console served at / (skipped when the folder does not exist).' },
  { name: 'PLUGBOARD_OAUTH_RETURN_ORIGINS', flag: '(none)', default: '(none)', meaning: 'Comma-separated origins the hosted OAuth callback may redirect to, besides the public URL\'s own.' },
  { name: 'PLUGBOARD_WEBHOOKS_ALLOW_PRIVATE_TARGETS', flag: '(none)', default: 'off', meaning: 'Deliver webhooks to loopback and private-network receivers (on-premises or local testing only).' },
  { name: 'PLUGBOARD_HEALTH_CHECK', flag: '(none)', default: 'on', meaning: 'Run the periodic connection health check (on/off).' },
  { name: 'PLUGBOARD_HEALTH_INTERVAL_MS', flag: '(none)', default: '300000', meaning: 'Mean time between health-check rounds (jittered by +-20%).' },
  { name: 'PLUGBOARD_HEALTH_IDLE_MS', flag: '(none)', default: '3600000', meaning: 'A connection not called for this long gets its authping run by the health check.' },
  { name: 'PLUGBOARD_REFRESH_FAILURE_LIMIT', flag: '(none)', default: '5', meaning: 'Consecutive failed token refreshes after which a connection is disabled (event instance.disabled).' },
  { name: 'PLUGBOARD_EXECUTION_RETENTION_DAYS', flag: '(none)', default: '30', meaning: 'Flow execution history older than this many days is deleted.' },
  { name: 'PLUGBOARD_EXECUTION_MAX_PER_ORG', flag: '(none)', default: '10000', meaning: 'At most this many flow executions are kept per organization (the newest).' },
  { name: 'PLUGBOARD_JOB_LEASE_MS', flag: '(none)', default: '300000', meaning: 'How long a claimed background job stays owned without renewal; a dead process\'s jobs run again after it.' },
  { name: 'PLUGBOARD_JOB_SUPERVISE_SECONDS', flag: '(none)', default: '30', meaning: 'PostgreSQL: how often the job queue looks for expired leases.' },
  { name: 'PLUGBOARD_ERASURE_HASH_EXTERNAL_IDS', flag: '(none)', default: 'off', meaning: 'Store the external ids of erasure requests as SHA-256 of organization id and id instead of in clear (on/off).' },
  { name: 'PLUGBOARD_URL', flag: '--url', default: 'http://127.0.0.1:<PORT>', meaning: 'CLI client commands: base URL of the Plugboard server to call.' },
  { name: 'PLUGBOARD_API_KEY', flag: '--api-key', default: '(the key in <data dir>/admin-credentials)', meaning: 'CLI client commands: API key sent as Authorization: Bearer.' },
  { name: 'PLUGBOARD_SANDBOX_URL', flag: '--url', default: 'http://127.0.0.1:8081', meaning: 'CLI sandbox admin commands (plugboard sandbox fault, counters): base URL of the running sandbox provider.' },
  { name: 'PLUGBOARD_SANDBOX_ADMIN_TOKEN', flag: '--admin-token', default: '(none)', meaning: 'CLI sandbox admin commands: bearer token of a sandbox started with an admin token.' },
] as const;

/**
 * Variables only the test suite and benchmarks read; documented in their own table so an operator does not mistake
 * them for server settings. `src/config.test.ts` checks both lists against the docs and the source.
 */
export const TEST_ENVIRONMENT = [
  { name: 'PLUGBOARD_TEST_DATABASE_URL', meaning: 'PostgreSQL server for the tests that need it (each run creates and drops its own database); unset skips them.' },
  { name: 'PLUGBOARD_BENCH_DATABASE_URL', meaning: 'PostgreSQL server for the benchmarks that also measure it (each run uses its own database); unset measures SQLite only.' },
  { name: 'PLUGBOARD_CHROMIUM', meaning: 'Chromium binary for the console end-to-end tests (default /usr/bin/chromium; they are skipped when it is missing).' },
  { name: 'PLUGBOARD_UPDATE_SCREENSHOTS', meaning: 'Set to 1 to refresh the screenshots under docs/screenshots/ from a console end-to-end run.' },
] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the configuration. Throws one PlugboardError (VALIDATION_FAILED) listing every bad setting, so
 * an operator fixes them all in one go.
 */
export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}): Config {
  const problems: ErrorDetail[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push({ path: `env.${name}`, message: `expected an integer from ${min} to ${max}, got "${raw}"` });
      return fallback;
    }
    return value;
  };
  const onOff = (name: string, fallback: boolean): boolean => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const lower = raw.toLowerCase();
    if (['on', 'true', '1', 'yes'].includes(lower)) return true;
    if (['off', 'false', '0', 'no'].includes(lower)) return false;
    problems.push({ path: `env.${name}`, message: `expected on or off, got "${raw}"` });
    return fallback;
  };

  const port = overrides.port ?? integer('PORT', 8080, 0, 65535);
  const host = overrides.host ?? text('HOST') ?? '127.0.0.1';
  const databaseUrl = overrides.databaseUrl ?? text('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push({ path: 'env.DATABASE_URL', message: 'expected a PostgreSQL URL such as postgres://user@host:5432/plugboard' });
  }
  const dataDir = path.resolve(overrides.dataDir ?? text('PLUGBOARD_DATA_DIR') ?? './data');
  const masterKey = overrides.masterKey ?? text('PLUGBOARD_MASTER_KEY');
  const logLevelRaw = overrides.logLevel ?? text('LOG_LEVEL') ?? 'info';
  let logLevel: LogLevel = 'info';
  if ((LOG_LEVELS as readonly string[]).includes(logLevelRaw)) logLevel = logLevelRaw as LogLevel;
  else problems.push({ path: 'env.LOG_LEVEL', message: `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevelRaw}"` });

  const publicUrlRaw = overrides.publicUrl ?? text('PLUGBOARD_PUBLIC_URL') ?? `http://localhost:${port === 0 ? 8080 : port}`;
  let publicUrl = publicUrlRaw.replace(/\/+$/, '');
  try {
    const parsed = new URL(publicUrl);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol');
  } catch {
    problems.push({ path: 'env.PLUGBOARD_PUBLIC_URL', message: `expected an http(s) URL, got "${publicUrlRaw}"` });
    publicUrl = 'http://localhost:8080';
  }

  const config: Config = {
    port,
    host,
    dataDir,
    logLevel,
    publicUrl,
    bodyLimit: overrides.bodyLimit ?? integer('PLUGBOARD_BODY_LIMIT', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    shutdownTimeoutMs: overrides.shutdownTimeoutMs ?? integer('PLUGBOARD_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    keyActivationDelayMs: overrides.keyActivationDelayMs ?? integer('PLUGBOARD_KEY_ACTIVATION_DELAY_MS', 10_000, 0, 3_600_000),
    keyringRefreshMs: overrides.keyringRefreshMs ?? integer('PLUGBOARD_KEYRING_REFRESH_MS', 5_000, 100, 3_600_000),
    sandbox: {
      enabled: overrides.sandbox?.enabled ?? onOff('SANDBOX', true),
      host: overrides.sandbox?.host ?? text('SANDBOX_HOST') ?? '127.0.0.1',
      port: overrides.sandbox?.port ?? integer('SANDBOX_PORT', 8081, 0, 65535),
    },
    webDir: path.resolve(overrides.webDir ?? text('PLUGBOARD_WEB_DIR') ?? './web/dist'),
    oauthReturnOrigins: overrides.oauthReturnOrigins ?? (text('PLUGBOARD_OAUTH_RETURN_ORIGINS') ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '').flatMap((v) => {
      if (URL.canParse(v) && /^https?:$/.test(new URL(v).protocol)) return [new URL(v).origin];
      problems.push({ path: 'env.PLUGBOARD_OAUTH_RETURN_ORIGINS', message: `expected comma-separated http(s) origins such as https://app.example.com, got "${v}"` });
      return [];
    }),
    webhooks: overrides.webhooks ?? { allowPrivateTargets: onOff('PLUGBOARD_WEBHOOKS_ALLOW_PRIVATE_TARGETS', false) },
    health: overrides.health ?? {
      enabled: onOff('PLUGBOARD_HEALTH_CHECK', true),
      intervalMs: integer('PLUGBOARD_HEALTH_INTERVAL_MS', 300_000, 1_000, 86_400_000),
      idleMs: integer('PLUGBOARD_HEALTH_IDLE_MS', 3_600_000, 0, 30 * 86_400_000),
      refreshFailureLimit: integer('PLUGBOARD_REFRESH_FAILURE_LIMIT', 5, 1, 1000),
    },
    executions: overrides.executions ?? {
      retentionDays: integer('PLUGBOARD_EXECUTION_RETENTION_DAYS', 30, 1, 3650),
      maxPerOrg: integer('PLUGBOARD_EXECUTION_MAX_PER_ORG', 10_000, 10, 10_000_000),
    },
  };
  if (databaseUrl !== undefined) config.databaseUrl = databaseUrl;
  if (masterKey !== undefined) config.masterKey = masterKey;
  if (problems.length > 0) {
    throw new PlugboardError('VALIDATION_FAILED', `Invalid configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { details: problems });
  }
  return config;
}

/** True when the process uses the embedded SQLite store (no DATABASE_URL). */
export function isEmbedded(config: Pick<Config, 'databaseUrl'>): boolean {
  return config.databaseUrl === undefined;
}

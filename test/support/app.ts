/**
 * Starts a complete Plugboard in-process for a test: the real `startApp` on an ephemeral loopback port over a fresh
 * SQLite folder or a fresh PostgreSQL database, with log lines collected in memory (so tests can assert that no
 * secret reaches them). Returns the URL, the admin API key and the context, plus a small JSON client.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'undici';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import { startApp, type RunningApp } from '../../src/app.ts';
import type { AppContext } from '../../src/context.ts';
import type { BootstrapResult } from '../../src/bootstrap.ts';
import type { MountedRoute } from '../../src/api/server.ts';
import { createTestDatabase, type Backend, type TestDatabase } from './database.ts';

export interface TestApp {
  backend: Backend;
  url: string;
  /** The admin API key (every permission) of the default organization; empty on a restart over an existing store. */
  apiKey: string;
  /** The first-start credentials; on a restart (`database` given and already bootstrapped) this is null at runtime. */
  admin: BootstrapResult;
  ctx: AppContext;
  config: Config;
  routes: MountedRoute[];
  running: RunningApp;
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  /** Calls the API as the admin (or with `apiKey`/`authorization`), returning status, headers and parsed body. */
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  /** Stops the app (gracefully) and drops its database. */
  close(): Promise<void>;
}

export interface CallOptions {
  body?: unknown;
  /** Raw body text (sent as is, with `contentType`). */
  rawBody?: string;
  contentType?: string;
  /** API key to use instead of the admin key; `null` sends no Authorization header. */
  apiKey?: string | null;
  /** Exact Authorization header (overrides apiKey). */
  authorization?: string;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  text: string;
}

export interface StartTestAppOptions {
  backend?: Backend;
  config?: ConfigOverrides;
  /** Reuse an existing database (e.g. to restart over the same store); not dropped on close. */
  database?: TestDatabase;
  /** PostgreSQL only: start without PLUGBOARD_MASTER_KEY (to test that start-up refuses). */
  withoutMasterKey?: boolean;
  /** A sandbox running beside the app, as `plugboard start` runs it (see StartAppOptions.sandboxUrl). */
  sandboxUrl?: string;
}

export async function startTestApp(options: StartTestAppOptions = {}): Promise<TestApp> {
  const backend = options.backend ?? 'sqlite';
  const ownDatabase = options.database === undefined;
  const database = options.database ?? (await createTestDatabase(backend));
  const logs: string[] = [];
  const overrides: ConfigOverrides = {
    port: 0,
    host: '127.0.0.1',
    dataDir: database.dataDir,
    logLevel: 'debug',
    keyActivationDelayMs: 0,
    keyringRefreshMs: 200,
    shutdownTimeoutMs: 2000,
    webDir: `${database.dataDir}/no-console`,
    sandbox: { enabled: false },
    ...options.config,
  };
  if (database.databaseUrl !== undefined) {
    overrides.databaseUrl = database.databaseUrl;
    if (options.withoutMasterKey !== true) overrides.masterKey ??= testMasterKey(database);
  }
  // An empty environment: tests never depend on the variables of the machine running them.
  const config = loadConfig({}, overrides);
  let running: RunningApp;
  try {
    running = await startApp(config, { logStream: { write: (line: string) => void logs.push(line) }, ...(options.sandboxUrl === undefined ? {} : { sandboxUrl: options.sandboxUrl }) });
  } catch (error) {
    if (ownDatabase) await database.drop();
    throw error;
  }
  const admin = running.bootstrap;
  if (admin === null && ownDatabase) throw new Error('a fresh test store did not bootstrap an admin');
  const adminKey = admin?.apiKey ?? '';
  return {
    backend,
    url: running.url,
    apiKey: adminKey,
    admin: admin as BootstrapResult,
    ctx: running.ctx,
    config,
    routes: running.routes,
    running,
    logs,
    call: (method, path, callOptions = {}) => callApi(running.url, adminKey, method, path, callOptions),
    async close() {
      await running.close();
      if (ownDatabase) await database.drop();
    },
  };
}

const masterKeys = new WeakMap<TestDatabase, string>();

/** The master key of a PostgreSQL test database (stable across restarts of the same database). */
export function testMasterKey(database: TestDatabase): string {
  let key = masterKeys.get(database);
  if (key === undefined) {
    key = randomBytes(32).toString('base64');
    masterKeys.set(database, key);
  }
  return key;
}

export async function callApi(baseUrl: string, adminKey: string, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.apiKey !== null) headers.authorization = `Bearer ${options.apiKey ?? adminKey}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] = options.contentType ?? 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const response = await httpRequest(`${baseUrl}${path}`, { method: method as 'GET', headers, ...(body === undefined ? {} : { body }) });
  const text = await response.body.text();
  let parsed: unknown = text;
  if ((response.headers['content-type'] ?? '').toString().includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: response.statusCode, headers: response.headers, body: parsed, text };
}

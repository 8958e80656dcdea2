/**
 * The application context: everything a request handler, job or CLI-started process needs, built once at start and
 * passed explicitly (no module-level singletons, so tests can run several apps in one process). Areas plug in through
 * two seams: `services` (a start hook and a bounded graceful stop, e.g. the job runner, the health checker, the
 * key re-encryption task) and `INSTALLERS` below (one line per area that adds services or hooks at start).
 */
import type { Config } from './config.ts';
import { endsWithin } from './core/deadline.ts';
import { isEmbedded } from './config.ts';
import { openStore, type Store } from './store/index.ts';
import { createVault, type Vault } from './crypto/vault.ts';
import { Keyring } from './crypto/keyring.ts';
import { resolveMasterKeys, type MasterKeySource } from './crypto/master-key.ts';
import { SecretScrubber } from './crypto/redaction.ts';
import { initKeyring, keyringIsEmpty, loadDataKeys } from './store/keyring.ts';
import { createLogger, type Logger } from './log.ts';
import { createJobQueue, type JobQueue } from './jobs/index.ts';
import type { DestinationStream } from 'pino';

/** A background service with a start hook and a graceful stop that must finish within `deadlineMs`. */
export interface Service {
  name: string;
  start?(): Promise<void> | void;
  stop?(deadlineMs: number): Promise<void> | void;
}

/** Resolves `User <secret>, Element <instanceToken>` to one connection of the user's organization (null: unknown). */
export type InstanceTokenResolver = (ctx: AppContext, input: { orgId: string; userId: string; instanceToken: string }) => Promise<{ instanceId: string } | null>;

export interface AppContext {
  config: Config;
  store: Store;
  vault: Vault;
  keyring: Keyring;
  masterKeys: MasterKeySource;
  log: Logger;
  /** Known secret values, scrubbed from logs and error bodies; the vault feeds it on every seal and open. */
  secrets: SecretScrubber;
  services: ServiceRegistry;
  /** Durable background jobs (SQLite runner or pg-boss, by store dialect); define jobs in an installer. */
  jobs: JobQueue;
  hooks: {
    /** Filled by the connections area; until then `Element` credentials are refused with 401. */
    resolveInstanceToken: InstanceTokenResolver | null;
  };
  /** True once shutdown has begun: new work is refused with SHUTTING_DOWN. */
  shuttingDown: boolean;
}

export class ServiceRegistry {
  readonly #services: Service[] = [];
  #started: Service[] = [];

  add(service: Service): void {
    if (this.#services.some((s) => s.name === service.name)) throw new Error(`A service named ${service.name} is already registered`);
    this.#services.push(service);
  }

  names(): string[] {
    return this.#services.map((s) => s.name);
  }

  async startAll(): Promise<void> {
    for (const service of this.#services) {
      if (this.#started.includes(service)) continue;
      await service.start?.();
      this.#started.push(service);
    }
  }

  /** Stops started services in reverse order, each bounded by what is left of `timeoutMs`; returns the ones that overran. */
  async stopAll(timeoutMs: number, log?: Logger): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const overran: string[] = [];
    for (const service of [...this.#started].reverse()) {
      const left = Math.max(0, deadline - Date.now());
      try {
        if (!(await endsWithin(Promise.resolve(service.stop?.(left)), left))) {
          overran.push(service.name);
          log?.warn({ service: service.name }, 'service did not stop within the shutdown bound');
        }
      } catch (error) {
        log?.error({ err: error, service: service.name }, 'service failed to stop cleanly');
      }
    }
    this.#started = [];
    return overran;
  }
}

export interface CreateContextOptions {
  /** Destination of log lines (default stdout). */
  logStream?: DestinationStream;
}

/**
 * Area installers run once when the context is created, in this order. Each adds its services (`ctx.services.add`)
 * or hooks (`ctx.hooks.*`). Add one line per area: `(ctx) => import('./jobs/install.ts').then((m) => m.install(ctx)),`
 */
const INSTALLERS: Array<(ctx: AppContext) => Promise<void>> = [
  (ctx) => import('./store/reencryption.ts').then((m) => m.install(ctx)),
  (ctx) => import('./auth/install.ts').then((m) => m.install(ctx)),
  (ctx) => import('./jobs/install.ts').then((m) => m.install(ctx)),
  (ctx) => import('./revocation/install.ts').then((m) => m.install(ctx)),
  (ctx) => import('./webhooks/install.ts').then((m) => m.install(ctx)),
  (ctx) => import('./health/install.ts').then((m) => m.install(ctx)),
];

/**
 * Opens the store (applying migrations), resolves the master key, loads the keyring and builds the vault. Start-up
 * stops here with MASTER_KEY_MISSING / MASTER_KEY_MISMATCH when the key does not fit the store.
 */
export async function createContext(config: Config, options: CreateContextOptions = {}): Promise<AppContext> {
  const secrets = new SecretScrubber();
  const log = createLogger({ level: config.logLevel, scrubber: secrets, ...(options.logStream === undefined ? {} : { stream: options.logStream }) });
  const store = await openStore({ dataDir: config.dataDir, log, ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }) });
  try {
    const freshStore = await keyringIsEmpty(store.db);
    const masterKeys = resolveMasterKeys({ dataDir: config.dataDir, embedded: isEmbedded(config), freshStore, ...(config.masterKey === undefined ? {} : { masterKey: config.masterKey }) });
    if (masterKeys.generatedFile !== undefined) {
      log.warn({ file: masterKeys.generatedFile }, 'generated a new master key in %s (mode 0600); back it up: without it the secrets in this store cannot be read', masterKeys.generatedFile);
    }
    const keyring = new Keyring();
    await initKeyring(store.db, masterKeys.keys, keyring, store.dialect);
    const vault = createVault(keyring, (plaintext) => secrets.remember(plaintext));
    const ctx: AppContext = {
      config,
      store,
      vault,
      keyring,
      masterKeys,
      log,
      secrets,
      services: new ServiceRegistry(),
      jobs: createJobQueue({ store, log }),
      hooks: { resolveInstanceToken: null },
      shuttingDown: false,
    };
    ctx.services.add(keyringRefresher(ctx));
    for (const install of INSTALLERS) await install(ctx);
    return ctx;
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Reloads the keyring periodically so versions added by another process are known before they activate. */
function keyringRefresher(ctx: AppContext): Service {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  return {
    name: 'keyring-refresh',
    start() {
      timer = setInterval(() => {
        running = reloadKeyring(ctx).catch((error: unknown) => ctx.log.error({ err: error }, 'keyring reload failed; keeping the loaded versions'));
      }, ctx.config.keyringRefreshMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

export async function reloadKeyring(ctx: AppContext): Promise<void> {
  ctx.keyring.replace(await loadDataKeys(ctx.store.db, ctx.masterKeys.keys));
}

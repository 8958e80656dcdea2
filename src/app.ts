/**
 * Starting and stopping a whole Plugboard process: context (store, keyring, vault), first-start bootstrap, HTTP
 * server, background services. `plugboard start` and the test harness both go through `startApp`, so tests exercise
 * exactly what production runs. `close()` is the graceful shutdown: stop accepting, let in-flight requests and
 * running jobs finish within the configured bound, then close the store.
 */
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config.ts';
import { endsWithin } from './core/deadline.ts';
import { createContext, type AppContext } from './context.ts';
import { buildServer, type MountedRoute } from './api/server.ts';
import { bootstrapStore, configureSandboxOAuthApps, type BootstrapResult } from './bootstrap.ts';

export interface RunningApp {
  ctx: AppContext;
  app: FastifyInstance;
  routes: MountedRoute[];
  /** Base URL the server listens on (with the real port when `port` was 0). */
  url: string;
  /** Set on the first start of an empty store: the admin credentials, shown once. */
  bootstrap: BootstrapResult | null;
  close(): Promise<void>;
}

export interface StartAppOptions {
  logStream?: DestinationStream;
  /** Write `<dataDir>/admin-credentials` on first start (embedded mode; default true). */
  writeCredentialsFile?: boolean;
  /**
   * URL of the sandbox provider running beside this server. The built-in sandbox connectors are pointed at it, and a
   * first start sets their OAuth apps for the default organization.
   */
  sandboxUrl?: string;
}

export async function startApp(config: Config, options: StartAppOptions = {}): Promise<RunningApp> {
  if (options.sandboxUrl !== undefined) {
    const { useSandboxOrigin } = await import('./connectors/registry.ts');
    useSandboxOrigin(options.sandboxUrl);
  }
  const ctx = await createContext(config, options.logStream === undefined ? {} : { logStream: options.logStream });
  let app: FastifyInstance | undefined;
  try {
    const bootstrap = await bootstrapStore(ctx, { writeFile: options.writeCredentialsFile ?? true });
    if (bootstrap !== null && options.sandboxUrl !== undefined) {
      bootstrap.sandboxOAuthApps = await configureSandboxOAuthApps(ctx, bootstrap.organizationId);
    }
    const built = await buildServer(ctx);
    app = built.app;
    await app.listen({ port: config.port, host: config.host });
    await ctx.services.startAll();
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    ctx.log.info({ url, store: ctx.store.dialect }, 'plugboard listening on %s', url);
    let closing: Promise<void> | null = null;
    const server = app;
    return {
      ctx,
      app: server,
      routes: built.routes,
      url,
      bootstrap,
      close() {
        closing ??= shutdown(ctx, server);
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => {});
    await ctx.store.close();
    throw error;
  }
}

async function shutdown(ctx: AppContext, app: FastifyInstance): Promise<void> {
  const bound = ctx.config.shutdownTimeoutMs;
  ctx.shuttingDown = true;
  ctx.log.info({ boundMs: bound }, 'shutting down: no new requests, finishing in-flight work');
  const started = Date.now();
  if (!(await endsWithin(app.close(), bound))) {
    ctx.log.warn('in-flight requests did not finish within the shutdown bound; closing their connections');
    app.server.closeAllConnections();
  }
  await ctx.services.stopAll(Math.max(0, bound - (Date.now() - started)), ctx.log);
  await ctx.store.close();
  ctx.log.info('stopped');
  // The destination writes asynchronously: wait for the last lines before the process may exit.
  await new Promise<void>((resolve) => ctx.log.flush(() => resolve()));
}

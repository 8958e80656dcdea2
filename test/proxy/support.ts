/**
 * What the proxy tests share: a throwaway HTTP server on an ephemeral loopback port (fake providers, front servers),
 * and the world most of them run in (the sandbox provider, a loopback provider of the test's own, and an app).
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';

export interface LoopbackServer {
  url: string;
  server: http.Server;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

export async function listenOnLoopback(handler: http.RequestListener): Promise<LoopbackServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface ProxyWorld<P> {
  sandbox: Sandbox;
  provider: P;
  app: TestApp;
  /** Stops the app, then the providers. */
  close(): Promise<void>;
}

/** Starts the sandbox (auto-approving consent), the test's own provider and an app (SQLite). */
export async function startProxyWorld<P extends { close(): Promise<void> }>(startProvider: () => Promise<P>): Promise<ProxyWorld<P>> {
  const sandbox = await startSandbox({ autoApprove: true });
  const provider = await startProvider();
  const app = await startTestApp();
  return {
    sandbox,
    provider,
    app,
    async close() {
      await app.close();
      await provider.close();
      await sandbox.close();
    },
  };
}

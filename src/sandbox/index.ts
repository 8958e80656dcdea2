/**
 * The sandbox provider: a real OAuth 2.0 authorization server and protected API that behaves like third-party
 * providers do, revoke quirks and bad days included, so Plugboard can be tried, tested and benchmarked with no real
 * account. `startSandbox()` runs one in-process on its own port; `sandbox.admin` drives it from tests.
 * docs/sandbox.md documents endpoints, revoke styles, seeded clients and users, faults and the admin API.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SandboxAdmin, type ClientInput, type UserInput } from './admin.ts';
import { CallCounters, FaultBoard } from './faults.ts';
import { seedClients, seedUsers } from './model.ts';
import { FileShelf } from './resource.ts';
import { createSandboxServer, type SandboxContext } from './server.ts';
import { ProviderState } from './state.ts';

export { SandboxAdmin, SandboxInputError, type ClientInput, type ClientPatch, type RevokeReach, type SandboxSettings, type UserInput } from './admin.ts';
export { ENDPOINTS, type Endpoint, type EndpointCounters, type FaultKind, type FaultSpec, type FaultStatus } from './faults.ts';
export { REVOKE_STYLE_NAMES, REVOKE_STYLES, SCOPES, type RevokeScope, type RevokeStyle, type RevokeStyleInfo, type SandboxClient, type SandboxUser, type TokenLookup, type TokenState } from './model.ts';
export type { IssuedTokens } from './state.ts';

/** The client the built-in `sandbox` connectors use (docs/sandbox.md). */
export const DEFAULT_CLIENT = { id: 'plugboard-demo', secret: 'plugboard-demo-secret' } as const;
export const DEFAULT_SANDBOX_PORT = 8081;

export interface SandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1; anything not loopback prints a loud warning and protects the admin API with a token. */
  host?: string;
  /** Defaults to the sandbox's own URL. */
  issuer?: string;
  /** Approve every authorization request without the consent page (default false). */
  autoApprove?: boolean;
  /** Clients added to (or, by id, replacing) the seeded ones. */
  clients?: ClientInput[];
  users?: UserInput[];
  /** Start without the seeded clients and users (default false). */
  noSeed?: boolean;
  /** Default lifetimes in seconds (clients may override); 0 means the token never expires. */
  accessTokenTtl?: number;
  refreshTokenTtl?: number;
  /** Require this bearer token on `/_admin/`; generated automatically when bound to a non-loopback host. */
  adminToken?: string;
  /** Where the non-loopback warning goes (default: stderr). */
  warn?: (message: string) => void;
}

export interface Sandbox {
  url: string;
  port: number;
  host: string;
  issuer: string;
  /** The admin token in force, or null when the admin API is open (loopback without a configured token). */
  adminToken: string | null;
  admin: SandboxAdmin;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`sandbox port must be an integer from 0 to 65535, got ${port}`);
  const state = new ProviderState({ accessTokenTtl: opts.accessTokenTtl, refreshTokenTtl: opts.refreshTokenTtl, autoApprove: opts.autoApprove });
  const faults = new FaultBoard();
  const counters = new CallCounters();
  const admin = new SandboxAdmin(state, faults, counters);
  if (!opts.noSeed) {
    for (const c of seedClients()) state.clients.set(c.id, c);
    for (const u of seedUsers()) state.users.set(u.id, u);
  }
  for (const c of opts.clients ?? []) {
    if (state.clients.has(c.id)) state.clients.delete(c.id);
    admin.createClient(c);
  }
  for (const u of opts.users ?? []) admin.createUser(u);

  const loopback = isLoopbackHost(host);
  const adminToken = opts.adminToken ?? (loopback ? null : randomBytes(24).toString('base64url'));
  let issuer = opts.issuer ?? '';
  const ctx: SandboxContext = { state, faults, counters, admin, shelf: new FileShelf(), issuer: () => issuer, adminToken };
  const server = createSandboxServer(ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${actualPort}`;
  if (!opts.issuer) issuer = url;
  if (!loopback) {
    const warn = opts.warn ?? ((m: string) => process.stderr.write(m + '\n'));
    const line = '!'.repeat(78);
    warn(
      `${line}\n! WARNING: the sandbox provider is listening on ${host}:${actualPort}, not on loopback.\n` +
        `! It is a TEST provider: fake users, known client secrets, loopback redirects allowed.\n` +
        `! Anyone who can reach this address can mint tokens. The admin API needs a bearer token` +
        (opts.adminToken ? ' (the one configured).\n' : `:\n!   ${adminToken}\n`) +
        line,
    );
  }
  let closing: Promise<void> | null = null;
  return {
    url,
    port: actualPort,
    host,
    issuer,
    adminToken,
    admin,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const res of faults.hung) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

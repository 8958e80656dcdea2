/**
 * One step of the erasure benchmark, each in a fresh process so a measured run's peak RSS is its own. Reads its task
 * as JSON from argv: `seed` writes N connections into a fresh store (SQLite data folder or a fresh PostgreSQL
 * database) and prints the organization id; `plugboard` opens that store, files an erasure request and times it to
 * completion with the real job runner, sampling its own RSS from /proc; `baseline` sends the same provider
 * requests (revoke the refresh token, introspect refresh and access token, as the sandbox connector's revoke flow and
 * verification do) from a bare undici loop with the same concurrency. Prints one JSON line with the figures.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.ts';
import { createContext, type AppContext } from '../src/context.ts';
import { builtinCatalogue } from '../src/connectors/registry.ts';
import { PlugboardError } from '../src/core/errors.ts';
import { createOrganization } from '../src/store/organizations.ts';
import { sealSecrets, stateColumns, type ConnectionRow } from '../src/store/connections.ts';
import { revocationService } from '../src/revocation/service.ts';

interface Task {
  variant: 'seed' | 'plugboard' | 'baseline';
  backend: 'sqlite' | 'postgres';
  sandboxUrl: string;
  clientId: string;
  clientSecret: string;
  /** File of JSON lines `[accessToken, refreshToken]`. */
  tokensFile: string;
  concurrency: number;
  /** seed and plugboard: the store both use, and the master key of a PostgreSQL store. */
  dataDir?: string;
  databaseUrl?: string;
  masterKey?: string;
  /** plugboard: the organization `seed` created. */
  orgId?: string;
}

const task = JSON.parse(process.argv[2] as string) as Task;
function readTokens(): Array<[string, string]> {
  return readFileSync(task.tokensFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as [string, string]);
}

/** Current and peak resident set size in MB, from /proc (the kernel's own figures, not the heap's). */
function rssFromProc(): { rssMb: number; hwmMb: number } | null {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string): number => Number(/\s(\d+) kB/.exec(status.split('\n').find((line) => line.startsWith(field)) ?? '')?.[1] ?? NaN);
    return { rssMb: Math.round(kb('VmRSS:') / 1024), hwmMb: Math.round(kb('VmHWM:') / 1024) };
  } catch {
    return null;
  }
}

let sampledPeakMb = 0;
let peakHeapTotalMb = 0;
let peakExternalMb = 0;
function sampleRss(): void {
  const now = rssFromProc()?.rssMb ?? Math.round(process.memoryUsage.rss() / 1e6);
  if (now > sampledPeakMb) sampledPeakMb = now;
  // Where the resident memory is: the V8 heap (live data and garbage not yet collected) or outside it.
  const memory = process.memoryUsage();
  peakHeapTotalMb = Math.max(peakHeapTotalMb, Math.round(memory.heapTotal / 1e6));
  peakExternalMb = Math.max(peakExternalMb, Math.round((memory.external + memory.arrayBuffers) / 1e6));
}

/**
 * The process's own CPU time (user + system) since `before`, per item, in microseconds: what one dedicated core
 * would need per connection, whatever else the shared machine runs meanwhile.
 */
function cpuPerItem(before: NodeJS.CpuUsage, items: number): number {
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / Math.max(items, 1));
}

function report(figures: Record<string, number | string>): void {
  sampleRss();
  const memory = process.memoryUsage();
  // maxRssMb: the kernel's high-water mark of this process (it only ever ran the measured work); sampledPeakMb: the
  // largest VmRSS seen by a 50 ms sampler, as a cross-check.
  const maxRssMb = rssFromProc()?.hwmMb ?? Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify({ ...figures, maxRssMb, sampledPeakMb, peakHeapTotalMb, peakExternalMb, heapUsedMb: Math.round(memory.heapUsed / 1e6), heapTotalMb: Math.round(memory.heapTotal / 1e6), externalMb: Math.round(memory.external / 1e6) })}\n`);
}

async function baseline(): Promise<void> {
  const tokens = readTokens();
  const agent = new Agent({ connections: task.concurrency });
  const basic = `Basic ${Buffer.from(`${task.clientId}:${task.clientSecret}`).toString('base64')}`;
  const post = async (pathName: string, form: Record<string, string>): Promise<void> => {
    const res = await request(`${task.sandboxUrl}${pathName}`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      body: new URLSearchParams(form).toString(),
    });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${pathName} answered ${res.statusCode}`);
  };
  let next = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: task.concurrency }, async () => {
    for (;;) {
      const i = next;
      next += 1;
      if (i >= tokens.length) return;
      const [access, refresh] = tokens[i] as [string, string];
      await post('/oauth/revoke', { token: refresh, token_type_hint: 'refresh_token' });
      await post('/oauth/introspect', { token: refresh, token_type_hint: 'refresh_token' });
      await post('/oauth/introspect', { token: access, token_type_hint: 'access_token' });
    }
  }));
  const wallMs = performance.now() - started;
  const cpuUsPerConnection = cpuPerItem(cpuBefore, tokens.length);
  await agent.close();
  report({ variant: 'baseline', connections: tokens.length, wallMs: Math.round(wallMs), perSecond: Math.round(tokens.length / (wallMs / 1000)), cpuUsPerConnection });
}

async function openContext(): Promise<AppContext> {
  const config = loadConfig({}, {
    dataDir: task.dataDir as string,
    logLevel: 'silent',
    sandbox: { enabled: false },
    ...(task.databaseUrl === undefined ? {} : { databaseUrl: task.databaseUrl, masterKey: task.masterKey as string }),
  });
  return createContext(config);
}

/** Seeds in bulk (not measured, its own process): the same rows the instance endpoints write, secrets sealed. */
async function seed(): Promise<void> {
  const tokens = readTokens();
  const ctx = await openContext();
  try {
    const org = await createOrganization(ctx.store.db, { name: 'bench', adminEmail: 'bench@example.com', adminName: 'Bench' });
    const orgId = org.organization.id;
    const now = new Date().toISOString();
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    for (let i = 0; i < tokens.length; i += 500) {
      const rows: ConnectionRow[] = tokens.slice(i, i + 500).map(([access, refresh]) => {
        const id = `inst_${randomBytes(9).toString('base64url')}`;
        return {
          id, org_id: orgId, element_key: 'sandbox', name: id, external_user_id: 'bench-person', configuration: '{}', base_url: null,
          auth_type: 'oauth2_authorization_code', ...stateColumns({ valid: true, disabled: false, revoked: false }),
          token_lookup: randomBytes(9).toString('base64url'), token_hash: randomBytes(32).toString('hex'),
          access_token: null, refresh_token: null, token_type: 'Bearer', expires_at: expires, scope: 'profile files.read',
          username: null, password: null, api_key: null, client_id: task.clientId, client_secret: null,
          refresh_failures: 0, last_refreshed_at: null, last_authenticated_at: now, lease_owner: null, lease_until: null,
          created_at: now, updated_at: now,
          ...sealSecrets(ctx.vault, orgId, id, { access_token: access, refresh_token: refresh, client_secret: task.clientSecret }),
        } as ConnectionRow;
      });
      await ctx.store.db.insertInto('connections').values(rows).execute();
    }
    process.stdout.write(`${JSON.stringify({ orgId })}\n`);
  } finally {
    await ctx.store.close();
  }
}

async function plugboard(): Promise<void> {
  const ctx = await openContext();
  const sampler = setInterval(sampleRss, 50);
  try {
    const base = (await builtinCatalogue()).get('sandbox');
    if (base === undefined) throw new Error('the built-in sandbox connector is missing');
    const connector = JSON.parse(JSON.stringify(base.definition).split('http://127.0.0.1:8081').join(task.sandboxUrl)) as typeof base.definition;
    const service = revocationService(ctx);
    service.resolveConnector = async (_orgId, key) => {
      if (key === connector.key) return connector;
      throw new PlugboardError('NOT_FOUND', `No connector ${key}.`);
    };
    const orgId = task.orgId as string;
    await ctx.services.startAll();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const request = await service.createErasure(orgId, { externalUserId: 'bench-person' }, null);
    for (;;) {
      const row = await ctx.store.db.selectFrom('erasure_requests').select(['status', 'total']).where('id', '=', request.id).executeTakeFirstOrThrow();
      if (row.status === 'completed' || row.status === 'completed_with_manual_steps') {
        const wallMs = performance.now() - started;
        const cpuUsPerConnection = cpuPerItem(cpuBefore, row.total);
        const revoked = await ctx.store.db.selectFrom('revocations').select((eb) => eb.fn.countAll<number>().as('n')).where('erasure_id', '=', request.id).where('revoked', '=', 1).executeTakeFirstOrThrow();
        report({ variant: 'plugboard', backend: task.backend, connections: row.total, revoked: Number(revoked.n), status: row.status, wallMs: Math.round(wallMs), perSecond: Math.round(row.total / (wallMs / 1000)), cpuUsPerConnection });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await ctx.services.stopAll(5_000);
  } finally {
    clearInterval(sampler);
    await ctx.store.close();
  }
}

if (task.variant === 'baseline') await baseline();
else if (task.variant === 'seed') await seed();
else await plugboard();
// Pools and agents are closed above; exit explicitly so a lingering keep-alive socket cannot stall the run.
process.exit(0);

/**
 * One step of the erasure benchmark, each in a fresh process so a measured run's peak RSS is its own. Reads its task
 * as JSON from argv: `seed` writes N connections into a fresh store (SQLite data folder or a fresh PostgreSQL
 * database) and prints the organization id; `plugboard` opens that store, files an erasure request and times it to
 * completion with the real job runner, sampling its own RSS from /proc; `baseline` sends the same provider
 * requests (revoke the refresh token, introspect refresh and access token, as the sandbox connector's revoke flow and
 * verification do) from a bare undici loop with the same concurrency; `floor` (SQLite only) is the least a durable
 * erasure must do, hand-written on `node:sqlite` and undici's dispatch with the same store, vault and requests (see
 * floor()). Prints one JSON line with the figures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.ts';
import { createContext, type AppContext } from '../src/context.ts';
import { builtinCatalogue } from '../src/connectors/registry.ts';
import { PlugboardError } from '../src/core/errors.ts';
import { createOrganization } from '../src/store/organizations.ts';
import { sealSecrets, stateColumns, type ConnectionRow } from '../src/store/connections.ts';
import { revocationService } from '../src/revocation/service.ts';
import { exchange } from '../src/proxy/exchange.ts';
import { newId, newOrderedIds } from '../src/crypto/random.ts';
import { SQLITE_FILE } from '../src/store/index.ts';
import { repeated } from '../src/store/erasure.ts';

interface Task {
  variant: 'seed' | 'plugboard' | 'baseline' | 'floor';
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
  return usPerItem(process.cpuUsage(before), items);
}

/** CPU time already measured (user + system), per item, in microseconds. */
function usPerItem(used: NodeJS.CpuUsage, items: number): number {
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
    // The collection phase (local erasure: read, seal the grants, delete) ends when the request is enumerated; the
    // provider phase (revoke and verify) follows.
    let collection: { wallMs: number; cpu: NodeJS.CpuUsage } | null = null;
    for (;;) {
      const row = await ctx.store.db.selectFrom('erasure_requests').select(['status', 'total', 'enumerated']).where('id', '=', request.id).executeTakeFirstOrThrow();
      if (collection === null && row.enumerated === 1) collection = { wallMs: performance.now() - started, cpu: process.cpuUsage(cpuBefore) };
      if (row.status === 'completed' || row.status === 'completed_with_manual_steps') {
        const wallMs = performance.now() - started;
        const cpuUsPerConnection = cpuPerItem(cpuBefore, row.total);
        const phases: Record<string, number> = collection === null ? {} : {
          collectionMs: Math.round(collection.wallMs),
          collectionCpuUsPerConnection: usPerItem(collection.cpu, row.total),
        };
        const revoked = await ctx.store.db.selectFrom('revocations').select((eb) => eb.fn.countAll<number>().as('n')).where('erasure_id', '=', request.id).where('revoked', '=', 1).executeTakeFirstOrThrow();
        report({ variant: 'plugboard', backend: task.backend, connections: row.total, revoked: Number(revoked.n), status: row.status, wallMs: Math.round(wallMs), perSecond: Math.round(row.total / (wallMs / 1000)), cpuUsPerConnection, ...phases });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await ctx.services.stopAll(5_000);
  } finally {
    clearInterval(sampler);
    await ctx.store.close();
  }
}

/**
 * The floor: what any erasure that is durable and verified has to do, hand-written with no framework, job system,
 * flow engine or query builder, on the store `seed` wrote (same schema and indexes, same vault). Collect: read the
 * person's connections 2,000 at a time with their sealed secrets, open them (access token, refresh token, client
 * secret), and in one transaction delete the connections and what is kept about them (tags, events, executions),
 * write one pending revocation per connection and the grants sealed in envelopes of 100 (so a crash loses no grant).
 * Then revoke: the same three requests per connection as the baseline, 20 at a time, through undici's dispatch; and
 * write the receipt lines in one transaction per 500. What it leaves out, and Plugboard does not: reading pending rows
 * back from the store, crash recovery, the per-provider gate, connector flows, retries, events.
 */
async function floor(): Promise<void> {
  const ctx = await openContext();
  const db = new DatabaseSync(path.join(task.dataDir as string, SQLITE_FILE));
  for (const pragma of ['journal_mode = WAL', 'busy_timeout = 5000', 'synchronous = NORMAL', 'wal_autocheckpoint = 4000', 'foreign_keys = ON']) db.exec(`PRAGMA ${pragma}`);
  const orgId = task.orgId as string;
  const origin = new URL(task.sandboxUrl).origin;
  const agent = new Agent({ connections: task.concurrency });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${task.clientId}:${task.clientSecret}`).toString('base64')}` };
  const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const prepared = (sql: string): ReturnType<DatabaseSync['prepare']> => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const now = new Date().toISOString();
  const erasureId = newId();
  db.prepare('INSERT INTO erasure_requests (id, org_id, subject_kind, subject, status, total, remaining, enumerated, created_at) VALUES (?, ?, ?, ?, ?, 0, 0, 0, ?)').run(erasureId, orgId, 'externalUserId', 'bench-person', 'running', now);
  const select = db.prepare('SELECT id, access_token, refresh_token, client_secret FROM connections WHERE org_id = ? AND external_user_id = ? LIMIT 2000');
  const work: Array<{ id: string; access: string; refresh: string }> = [];
  for (;;) {
    const rows = select.all(orgId, 'bench-person') as Array<{ id: string; access_token: string; refresh_token: string; client_secret: string }>;
    if (rows.length === 0) break;
    const ids = newOrderedIds(rows.length);
    const grants = rows.map((row, i) => {
      const open = (field: 'access_token' | 'refresh_token' | 'client_secret'): string => ctx.vault.open(row[field], { orgId, table: 'connections', rowId: row.id, field });
      return { id: ids[i] as string, instance: row.id, access: open('access_token'), refresh: open('refresh_token'), secret: open('client_secret') };
    });
    db.exec('BEGIN');
    const instanceIds = rows.map((row) => row.id);
    prepared(`DELETE FROM connections WHERE id IN (${repeated('?', rows.length)})`).run(...instanceIds);
    for (const [table, column] of [['connection_tags', 'connection_id'], ['events', 'instance_id'], ['executions', 'connection_id']]) {
      prepared(`DELETE FROM ${table} WHERE org_id = ? AND ${column} IN (${repeated('?', rows.length)})`).run(orgId, ...instanceIds);
    }
    const rowsOf: unknown[] = [];
    for (let i = 0; i < grants.length; i += 100) {
      const envelopeId = newId();
      const slice = grants.slice(i, i + 100);
      const sealed = ctx.vault.seal(JSON.stringify(Object.fromEntries(slice.map((g) => [g.id, g]))), { orgId, table: 'revocation_grant_batches', rowId: envelopeId, field: 'sealed_grants' }, { document: true });
      prepared('INSERT INTO revocation_grant_batches (id, org_id, erasure_id, sealed_grants, created_at) VALUES (?, ?, ?, ?, ?)').run(envelopeId, orgId, erasureId, sealed, now);
      for (const g of slice) rowsOf.push(g.id, orgId, g.instance, erasureId, 'sandbox', 'erasure', 'pending', 0, 0, 0, envelopeId, now, now);
    }
    prepared(`INSERT INTO revocations (id, org_id, instance_id, erasure_id, element_key, reason, status, revoked, verified, attempts, grant_batch_id, created_at, updated_at) VALUES ${repeated('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', grants.length)}`).run(...(rowsOf as string[]));
    prepared('UPDATE erasure_requests SET total = total + ?, remaining = remaining + ? WHERE id = ?').run(grants.length, grants.length, erasureId);
    db.exec('COMMIT');
    for (const g of grants) work.push({ id: g.id, access: g.access, refresh: g.refresh });
  }
  const collectionWallMs = performance.now() - started;
  const collectionCpu = process.cpuUsage(cpuBefore);
  const post = async (pathName: string, body: string): Promise<Buffer> => {
    const response = await exchange(agent, { origin, path: pathName, method: 'POST', headers, body, timeoutMs: 10_000, maxBodyBytes: 65_536 });
    if (response.statusCode !== 200) throw new Error(`${pathName} answered ${response.statusCode}`);
    return response.body;
  };
  const form = (token: string, hint: string): string => `token=${encodeURIComponent(token)}&token_type_hint=${hint}`;
  let done: Array<{ id: string; verified: boolean }> = [];
  const flush = (): void => {
    if (done.length === 0) return;
    const at = new Date().toISOString();
    db.exec('BEGIN');
    for (const verified of [true, false]) {
      const ids = done.filter((d) => d.verified === verified).map((d) => d.id);
      if (ids.length === 0) continue;
      prepared(`UPDATE revocations SET status = 'revoked', revoked = 1, verified = ?, method = 'flow', provider_status = 200, attempts = 1, grant_batch_id = NULL, updated_at = ?, completed_at = ? WHERE id IN (${repeated('?', ids.length)}) AND status = 'pending'`).run(verified ? 1 : 0, at, at, ...ids);
    }
    prepared('DELETE FROM revocation_grant_batches WHERE erasure_id = ? AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.grant_batch_id = revocation_grant_batches.id)').run(erasureId);
    prepared('UPDATE erasure_requests SET remaining = remaining - ? WHERE id = ?').run(done.length, erasureId);
    db.exec('COMMIT');
    done = [];
  };
  let next = 0;
  await Promise.all(Array.from({ length: task.concurrency }, async () => {
    for (;;) {
      const item = work[next];
      if (item === undefined) return;
      work[next] = undefined as unknown as typeof item;
      next += 1;
      await post('/oauth/revoke', form(item.refresh, 'refresh_token'));
      const inactive = async (token: string, hint: string): Promise<boolean> => (JSON.parse((await post('/oauth/introspect', form(token, hint))).toString('utf8')) as { active?: unknown }).active === false;
      const verified = (await inactive(item.refresh, 'refresh_token')) && (await inactive(item.access, 'access_token'));
      done.push({ id: item.id, verified });
      if (done.length >= 500) flush();
    }
  }));
  flush();
  const wallMs = performance.now() - started;
  const total = next;
  const cpuUsPerConnection = cpuPerItem(cpuBefore, total);
  const revoked = (db.prepare('SELECT count(*) AS n FROM revocations WHERE erasure_id = ? AND revoked = 1').get(erasureId) as { n: number }).n;
  await agent.close();
  db.close();
  await ctx.store.close();
  report({
    variant: 'floor', connections: total, revoked, wallMs: Math.round(wallMs), perSecond: Math.round(total / (wallMs / 1000)), cpuUsPerConnection,
    collectionMs: Math.round(collectionWallMs), collectionCpuUsPerConnection: usPerItem(collectionCpu, total),
  });
}

if (task.variant === 'baseline') await baseline();
else if (task.variant === 'floor') await floor();
else if (task.variant === 'seed') await seed();
else await plugboard();
// Pools and agents are closed above; exit explicitly so a lingering keep-alive socket cannot stall the run.
process.exit(0);

/**
 * Benchmark: GDPR erasure of N connections (default 100,000) against the sandbox on loopback, on SQLite and, when
 * PLUGBOARD_BENCH_DATABASE_URL (or PLUGBOARD_TEST_DATABASE_URL) is set, on PostgreSQL. Each round runs two variants,
 * each with a fresh sandbox (in this process) and fresh tokens: Plugboard's erasure (collect, erase, revoke, verify,
 * receipt) in its own process, after a separate process seeded the store, and a bare undici loop in its own process
 * sending the same provider requests (same endpoints, bodies, client authentication) with the same concurrency.
 * Reports per backend the
 * median over rounds (variant order alternated) of the throughput ratio Plugboard / baseline (target >= 0.8), the
 * Plugboard process's peak RSS (target <= 300 MB) and wall times.
 *
 * With `--floor`, each SQLite round also runs the floor: the least a durable, verified erasure has to do, hand-written
 * on node:sqlite and undici's dispatch over the same store (bench/erasure-worker.ts), reported as its own ratio.
 *
 *   node bench/erasure.ts [--connections 100000] [--rounds 3] [--concurrency 20] [--backends sqlite,postgres]
 *                         [--node-flags "--max-semi-space-size=8"] [--profile <dir>] [--floor]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startSandbox, DEFAULT_CLIENT } from '../src/sandbox/index.ts';
import { launchFlags } from '../src/cli/main.ts';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '20' },
    backends: { type: 'string' },
    // Node flags of the Plugboard process only. The default is what `npm start` and the `plugboard` command run
    // with, read from the command's first line (a bounded V8 young generation, and full collections once the heap
    // doubles rather than at V8's own larger factors: about the same throughput, a fifth less peak RSS under erasure
    // load than the young generation alone).
    'node-flags': { type: 'string', default: launchFlags().join(' ') },
    // Writes a CPU profile of each measured process (Plugboard and baseline) into this folder (node --cpu-prof).
    profile: { type: 'string' },
    floor: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`--${name} must be a positive integer, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

const connections = positive('connections', values.connections);
const rounds = positive('rounds', values.rounds);
// The revocation jobs run at most 20 per provider (the default per-provider limit): the baseline gets the same.
const concurrency = positive('concurrency', values.concurrency);
const postgresUrl = process.env.PLUGBOARD_BENCH_DATABASE_URL ?? process.env.PLUGBOARD_TEST_DATABASE_URL;
const backends = (values.backends ?? (postgresUrl ? 'sqlite,postgres' : 'sqlite')).split(',').map((b) => b.trim());
for (const backend of backends) {
  if (backend !== 'sqlite' && backend !== 'postgres') {
    process.stderr.write(`--backends takes sqlite and/or postgres, got "${backend}"\n`);
    process.exit(2);
  }
  if (backend === 'postgres' && !postgresUrl) {
    process.stderr.write('PostgreSQL needs PLUGBOARD_BENCH_DATABASE_URL (a superuser URL; a fresh database is created per run)\n');
    process.exit(2);
  }
}

const WORKER = fileURLToPath(new URL('./erasure-worker.ts', import.meta.url));

interface Figures {
  variant: string;
  wallMs: number;
  perSecond: number;
  maxRssMb: number;
  sampledPeakMb?: number;
  heapTotalMb?: number;
  peakHeapTotalMb?: number;
  peakExternalMb?: number;
  revoked?: number;
  status?: string;
  cpuUsPerConnection?: number;
  /** Plugboard: wall time and CPU per connection of the collection phase (local erasure), before the provider phase. */
  collectionMs?: number;
  collectionCpuUsPerConnection?: number;
  /** CPU the sandbox (this process) spent per connection while the variant ran. */
  sandboxCpuUsPerConnection?: number;
  heapUsedMb?: number;
}

async function withDatabase<T>(backend: string, fn: (databaseUrl: string | undefined) => Promise<T>): Promise<T> {
  if (backend !== 'postgres') return fn(undefined);
  const name = `plugboard_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(postgresUrl as string);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    const drop = new pg.Client({ connectionString: postgresUrl });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await drop.end();
  }
}

async function runWorker(task: Record<string, unknown>, flags: string[]): Promise<string> {
  const child = spawn(process.execPath, [...flags, WORKER, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${String(task.variant)} run exited with ${code}`);
  return out.trim().split('\n').pop() as string;
}

type Variant = 'plugboard' | 'baseline' | 'floor';

async function runVariant(variant: Variant, backend: string): Promise<Figures> {
  const sandbox = await startSandbox({ autoApprove: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'plugboard-bench-tokens-'));
  try {
    const tokensFile = path.join(dir, 'tokens.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < connections; i += 1) {
      const issued = sandbox.admin.issueTokens({ clientId: DEFAULT_CLIENT.id, userId: 'user-alice' });
      lines.push(JSON.stringify([issued.access_token, issued.refresh_token]));
    }
    writeFileSync(tokensFile, `${lines.join('\n')}\n`);
    return await withDatabase(backend, async (databaseUrl) => {
      const dataDir = path.join(dir, 'data');
      const task: Record<string, unknown> = {
        variant, backend, sandboxUrl: sandbox.url, clientId: DEFAULT_CLIENT.id, clientSecret: DEFAULT_CLIENT.secret, tokensFile, concurrency, dataDir,
        ...(databaseUrl ? { databaseUrl, masterKey: randomBytes(32).toString('base64') } : {}),
      };
      if (variant !== 'baseline') {
        const seeded = JSON.parse(await runWorker({ ...task, variant: 'seed' }, [])) as { orgId: string };
        task.orgId = seeded.orgId;
      }
      const flags = variant === 'plugboard' ? (values['node-flags'] ?? '').split(' ').filter((f) => f !== '') : [];
      if (values.profile !== undefined) flags.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`, `--cpu-prof-name=${variant}-${backend}-${Date.now()}.cpuprofile`);
      // This process only serves the sandbox while the measured worker runs: its CPU is the provider side's cost.
      const sandboxCpu = process.cpuUsage();
      const figures = JSON.parse(await runWorker(task, flags)) as Figures;
      const used = process.cpuUsage(sandboxCpu);
      figures.sandboxCpuUsPerConnection = Math.round((used.user + used.system) / connections);
      if (variant !== 'baseline' && figures.revoked !== connections) throw new Error(`${variant} revoked ${figures.revoked} of ${connections} connections`);
      return figures;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await sandbox.close();
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const summary: Record<string, unknown> = { connections, rounds, concurrency, nodeFlags: values['node-flags'], node: process.version };
for (const backend of backends) {
  const ratios: number[] = [];
  const plugboardRuns: Figures[] = [];
  const baselineRuns: Figures[] = [];
  const floorRatios: number[] = [];
  const floorRuns: Figures[] = [];
  const withFloor = values.floor === true && backend === 'sqlite';
  for (let round = 0; round < rounds; round += 1) {
    const order: Variant[] = round % 2 === 0 ? ['plugboard', 'baseline'] : ['baseline', 'plugboard'];
    if (withFloor) order.splice(1, 0, 'floor');
    const got: Partial<Record<Variant, Figures>> = {};
    for (const variant of order) got[variant] = await runVariant(variant, backend);
    const p = got.plugboard as Figures;
    const b = got.baseline as Figures;
    plugboardRuns.push(p);
    baselineRuns.push(b);
    ratios.push(p.perSecond / b.perSecond);
    const f = got.floor;
    if (f !== undefined) {
      floorRuns.push(f);
      floorRatios.push(f.perSecond / b.perSecond);
      process.stderr.write(`${backend} round ${round + 1}: floor ${f.perSecond}/s (${f.wallMs} ms, ${f.cpuUsPerConnection} us CPU per connection; collection ${f.collectionMs} ms, ${f.collectionCpuUsPerConnection} us CPU per connection; sandbox ${f.sandboxCpuUsPerConnection} us, peak RSS ${f.maxRssMb} MB), ratio ${(f.perSecond / b.perSecond).toFixed(2)}\n`);
    }
    process.stderr.write(`${backend} round ${round + 1}: plugboard ${p.perSecond}/s (${p.wallMs} ms, ${p.cpuUsPerConnection} us CPU per connection; collection ${p.collectionMs} ms, ${p.collectionCpuUsPerConnection} us CPU per connection; sandbox ${p.sandboxCpuUsPerConnection} us, peak RSS ${p.maxRssMb} MB, sampled ${p.sampledPeakMb} MB, peak V8 heap ${p.peakHeapTotalMb} MB (${p.heapUsedMb} MB used at the end), peak external ${p.peakExternalMb} MB), baseline ${b.perSecond}/s (${b.wallMs} ms, ${b.cpuUsPerConnection} us CPU per connection, sandbox ${b.sandboxCpuUsPerConnection} us), ratio ${(p.perSecond / b.perSecond).toFixed(2)}\n`);
  }
  summary[backend] = {
    ratio: Number(median(ratios).toFixed(3)),
    plugboardPerSecond: median(plugboardRuns.map((r) => r.perSecond)),
    baselinePerSecond: median(baselineRuns.map((r) => r.perSecond)),
    plugboardWallMs: median(plugboardRuns.map((r) => r.wallMs)),
    baselineWallMs: median(baselineRuns.map((r) => r.wallMs)),
    peakRssMb: Math.max(...plugboardRuns.map((r) => r.maxRssMb)),
    plugboardCpuUsPerConnection: median(plugboardRuns.map((r) => r.cpuUsPerConnection ?? 0)),
    collectionMs: median(plugboardRuns.map((r) => r.collectionMs ?? 0)),
    collectionCpuUsPerConnection: median(plugboardRuns.map((r) => r.collectionCpuUsPerConnection ?? 0)),
    baselineCpuUsPerConnection: median(baselineRuns.map((r) => r.cpuUsPerConnection ?? 0)),
  };
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);

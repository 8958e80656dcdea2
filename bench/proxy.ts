/**
 * Proxy benchmark, loopback only, the sandbox API (`GET /api/me` with a bearer token) as the upstream. Variants:
 *   - direct:      the load client calls the sandbox itself (baseline for throughput and latency);
 *   - plugboard:   the same calls through `GET /instances/{id}/proxy/api/me` of a real Plugboard process (SQLite
 *                  store, API-key auth, connection read, vault, SSRF-guarded undici pool);
 *   - passthrough: a minimal node:http server forwarding through an undici Pool and adding the bearer header
 *                  (baseline for CPU per proxied request).
 * The load client (this process), the sandbox and each proxy run in their own processes. Every variant of every
 * round gets fresh processes (a new sandbox and, for the proxied variants, a new proxy), a warm-up, then one timed
 * closed-loop burst with the same client and concurrency; the variant order alternates from round to round. Each
 * server's own CPU time is read over IPC around the burst, and the client's own CPU share is reported so a saturated
 * client shows. Ratios are taken within a round and the report gives medians of rounds. Then, at half of Plugboard's
 * measured throughput (open loop, fixed rate), the added p50/p99 latency against direct calls; then a soak of
 * Plugboard under load with its heap sampled after GC every second.
 *
 *   node bench/proxy.ts [--rounds 5] [--requests 5000] [--warmup 3000] [--concurrency 16] [--pipelining 1]
 *                       [--upstream-latency-ms 0] [--latency-seconds 3] [--soak-seconds 5] [--profile <dir>] [--json]
 *
 * `--upstream-latency-ms` makes the sandbox wait before answering (a provider's think time); `--profile <dir>` starts
 * every proxy process (Plugboard and the pass-through) with `--cpu-prof` (sampling every 100 us) writing into that
 * directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { arg, stringArg } from './args.ts';

type Role = 'sandbox' | 'plugboard' | 'passthrough';
type Variant = 'direct' | 'plugboard' | 'passthrough';
type ProxyVariant = Exclude<Variant, 'direct'>;
const VARIANTS: readonly Variant[] = ['direct', 'plugboard', 'passthrough'];

interface Ready {
  url: string;
  path: string;
  authorization: string;
  token?: string;
}

type ParentMessage = { type: 'cpu' } | { type: 'mem' } | { type: 'exit' };
type ChildMessage = ({ type: 'ready' } & Ready) | { type: 'cpu'; micros: number } | { type: 'mem'; heapUsed: number; rss: number };

function send(message: ChildMessage): void {
  process.send?.(message);
}

function answerProbes(): void {
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      send({ type: 'cpu', micros: u.user + u.system });
    } else if (m.type === 'mem') {
      (globalThis as { gc?: () => void }).gc?.();
      const mem = process.memoryUsage();
      send({ type: 'mem', heapUsed: mem.heapUsed, rss: mem.rss });
    } else if (m.type === 'exit') {
      // A normal exit, so `--cpu-prof` writes its profile.
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Child roles

async function serveSandbox(latencyMs: number): Promise<void> {
  const { startSandbox } = await import('../src/sandbox/index.ts');
  const sandbox = await startSandbox({ accessTokenTtl: 0 });
  const token = sandbox.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'user-alice', scope: 'profile files.read' }).access_token;
  if (latencyMs > 0) sandbox.admin.setFault('api', { kind: 'latency', latencyMs });
  answerProbes();
  send({ type: 'ready', url: sandbox.url, path: '/api/me', authorization: `Bearer ${token}`, token });
}

async function servePlugboard(upstream: string, token: string): Promise<void> {
  const { loadConfig } = await import('../src/config.ts');
  const { startApp } = await import('../src/app.ts');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'plugboard-bench-'));
  process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({}, {
    port: 0,
    host: '127.0.0.1',
    dataDir,
    logLevel: 'info',
    webDir: path.join(dataDir, 'no-console'),
    sandbox: { enabled: false },
    health: { enabled: false, intervalMs: 300_000, idleMs: 3_600_000, refreshFailureLimit: 5 },
  });
  const running = await startApp(config, { writeCredentialsFile: false, logStream: { write: () => undefined } });
  const apiKey = running.bootstrap?.apiKey;
  if (apiKey === undefined) throw new Error('a fresh bench store did not bootstrap an admin');
  const created = await request(`${running.url}/instances`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ element: { key: 'sandbox' }, name: 'bench', baseUrl: upstream, tokens: { accessToken: token, expiresIn: 365 * 86_400 } }),
  });
  const instance = (await created.body.json()) as { id?: string; message?: string };
  if (created.statusCode !== 201 || instance.id === undefined) throw new Error(`could not create the bench instance: ${JSON.stringify(instance)}`);
  answerProbes();
  send({ type: 'ready', url: running.url, path: `/instances/${instance.id}/proxy/api/me`, authorization: `Bearer ${apiKey}` });
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'authorization']);

async function servePassthrough(upstream: string, token: string): Promise<void> {
  const pool = new Pool(upstream, { connections: 128 });
  const server = createServer((req, res) => {
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    headers.authorization = `Bearer ${token}`;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool
      .request({ method: req.method as 'GET', path: req.url ?? '/', headers: headers as Record<string, string>, body: hasBody ? req : null })
      .then((up) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        res.writeHead(up.statusCode, out);
        up.body.pipe(res);
      })
      .catch(() => {
        res.writeHead(502).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  answerProbes();
  send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, path: '/api/me', authorization: 'Bearer caller' });
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: the orchestrator and the load client

const profileDir = stringArg('profile');

class Child {
  readonly process: ChildProcess;
  readonly ready: Ready;
  readonly #waiting: Array<(m: ChildMessage) => void> = [];

  private constructor(child: ChildProcess, ready: Ready) {
    this.process = child;
    this.ready = ready;
    child.on('message', (m: ChildMessage) => this.#waiting.shift()?.(m));
  }

  static start(role: Role, args: string[]): Promise<Child> {
    const profile = role !== 'sandbox' && profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=100'] : [];
    const nodeArgs = ['--expose-gc', ...profile, fileURLToPath(import.meta.url), 'serve', role, ...args];
    const child = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      child.once('message', (m: ChildMessage) => (m.type === 'ready' ? resolve(new Child(child, m)) : reject(new Error(`${role}: unexpected ${m.type}`))));
      child.once('exit', (code) => reject(new Error(`${role} exited early (${code})`)));
    });
  }

  ask<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve) => {
      this.#waiting.push((m) => resolve(m as Extract<ChildMessage, { type: T }>));
      this.process.send({ type });
    });
  }

  async cpuMicros(): Promise<number> {
    return (await this.ask('cpu')).micros;
  }

  /** Asks the child to exit normally (so a CPU profile is written) and waits for it. */
  stop(): Promise<void> {
    if (this.process.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
      this.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.process.send({ type: 'exit' } satisfies ParentMessage);
    });
  }
}

class Driver {
  readonly variant: Variant;
  readonly #pool: Pool;
  readonly #ready: Ready;
  readonly #concurrency: number;
  failures = 0;

  constructor(variant: Variant, ready: Ready, concurrency: number, pipelining: number) {
    this.variant = variant;
    this.#ready = ready;
    this.#concurrency = concurrency;
    this.#pool = new Pool(ready.url, { connections: Math.ceil(concurrency / pipelining), pipelining });
  }

  async one(): Promise<number> {
    const started = performance.now();
    const res = await this.#pool.request({ method: 'GET', path: this.#ready.path, headers: { authorization: this.#ready.authorization } });
    await res.body.dump();
    if (res.statusCode !== 200) this.failures++;
    return performance.now() - started;
  }

  /** Closed loop: `n` requests with `concurrency` in flight; returns the wall-clock seconds. */
  async burst(n: number): Promise<number> {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await this.one();
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: this.#concurrency }, worker));
    return (performance.now() - started) / 1000;
  }

  /** Open loop: requests started at a fixed rate for `seconds`; returns every latency in ms. */
  async atRate(rate: number, seconds: number): Promise<number[]> {
    const latencies: number[] = [];
    const inflight: Promise<void>[] = [];
    const total = Math.round(rate * seconds);
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(this.one().then((ms) => void latencies.push(ms)));
    }
    await Promise.all(inflight);
    return latencies;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Settings {
  requests: number;
  warmup: number;
  concurrency: number;
  pipelining: number;
  upstreamLatencyMs: number;
}

interface Measurement {
  rate: number;
  /** CPU microseconds per request of the proxy process (0 for direct), of the sandbox and of the load client. */
  proxyCpu: number;
  sandboxCpu: number;
  clientCpu: number;
  /** The load client's CPU time over the burst's wall time (1 = one core saturated). */
  clientBusy: number;
}

/** One variant on fresh processes: start, warm up, one timed burst with every process's CPU read around it, stop. */
async function measure(variant: Variant, settings: Settings): Promise<Measurement> {
  const sandbox = await Child.start('sandbox', [String(settings.upstreamLatencyMs)]);
  const proxy = variant === 'direct' ? null : await Child.start(variant, [sandbox.ready.url, sandbox.ready.token as string]);
  const driver = new Driver(variant, (proxy ?? sandbox).ready, settings.concurrency, settings.pipelining);
  try {
    await driver.burst(settings.warmup);
    const [proxyBefore, sandboxBefore] = await Promise.all([proxy?.cpuMicros() ?? 0, sandbox.cpuMicros()]);
    const clientBefore = process.cpuUsage();
    const seconds = await driver.burst(settings.requests);
    const client = process.cpuUsage(clientBefore);
    const [proxyAfter, sandboxAfter] = await Promise.all([proxy?.cpuMicros() ?? 0, sandbox.cpuMicros()]);
    if (driver.failures > 0) throw new Error(`${variant}: ${driver.failures} requests did not answer 200`);
    const n = settings.requests;
    return {
      rate: n / seconds,
      proxyCpu: (proxyAfter - proxyBefore) / n,
      sandboxCpu: (sandboxAfter - sandboxBefore) / n,
      clientCpu: (client.user + client.system) / n,
      clientBusy: (client.user + client.system) / 1e6 / seconds,
    };
  } finally {
    await driver.close();
    await Promise.all([proxy?.stop(), sandbox.stop()]);
  }
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 5);
  const settings: Settings = {
    requests: arg('requests', 5000),
    warmup: arg('warmup', 3000),
    concurrency: arg('concurrency', 16),
    pipelining: arg('pipelining', 1),
    upstreamLatencyMs: arg('upstream-latency-ms', 0, { allowZero: true }),
  };
  const latencySeconds = arg('latency-seconds', 3);
  const soakSeconds = arg('soak-seconds', 5);

  const results: Record<Variant, Measurement[]> = { direct: [], plugboard: [], passthrough: [] };
  const ratios = { plugboardToDirect: [] as number[], passthroughToDirect: [] as number[], cpuPlugboardToPassthrough: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    const m = {} as Record<Variant, Measurement>;
    for (const variant of order) m[variant] = await measure(variant, settings);
    for (const variant of VARIANTS) results[variant].push(m[variant]);
    ratios.plugboardToDirect.push(m.plugboard.rate / m.direct.rate);
    ratios.passthroughToDirect.push(m.passthrough.rate / m.direct.rate);
    ratios.cpuPlugboardToPassthrough.push(m.plugboard.proxyCpu / m.passthrough.proxyCpu);
  }
  const med = (variant: Variant, field: keyof Measurement) => median(results[variant].map((r) => r[field]));

  // Added latency at half of Plugboard's throughput, open loop, direct and proxied alternating in halves.
  const halfRate = med('plugboard', 'rate') / 2;
  const sandbox = await Child.start('sandbox', [String(settings.upstreamLatencyMs)]);
  const plugboard = await Child.start('plugboard', [sandbox.ready.url, sandbox.ready.token as string]);
  const latency: Record<'direct' | 'plugboard', number[]> = { direct: [], plugboard: [] };
  const soak: Array<{ second: number; heapMB: number; rssMB: number }> = [];
  try {
    const direct = new Driver('direct', sandbox.ready, settings.concurrency, 1);
    const proxied = new Driver('plugboard', plugboard.ready, settings.concurrency, 1);
    await direct.burst(settings.warmup);
    await proxied.burst(settings.warmup);
    for (const [i, d] of [direct, proxied, proxied, direct].entries()) {
      const ms = await d.atRate(halfRate, latencySeconds / 2);
      latency[d.variant as 'direct' | 'plugboard'].push(...ms);
      if (i === 1) await new Promise((r) => setTimeout(r, 200));
    }
    // Soak: closed-loop load on Plugboard, heap after GC sampled each second.
    const until = performance.now() + soakSeconds * 1000;
    let running = true;
    const load = (async () => {
      while (running) await proxied.burst(settings.concurrency * 20);
    })();
    for (let second = 1; performance.now() < until; second++) {
      await new Promise((r) => setTimeout(r, 1000));
      const mem = await plugboard.ask('mem');
      soak.push({ second, heapMB: +(mem.heapUsed / 1048576).toFixed(1), rssMB: +(mem.rss / 1048576).toFixed(1) });
    }
    running = false;
    await load;
    if (proxied.failures > 0 || direct.failures > 0) throw new Error(`latency/soak: ${proxied.failures + direct.failures} requests did not answer 200`);
    await Promise.all([direct.close(), proxied.close()]);
  } finally {
    await Promise.all([plugboard.stop(), sandbox.stop()]);
  }

  const p = (xs: number[], q: number) => +percentile(xs, q).toFixed(2);
  const firstHalf = soak.slice(0, Math.max(1, Math.floor(soak.length / 2)));
  const secondHalf = soak.slice(Math.floor(soak.length / 2));
  const round = (xs: number[]) => xs.map(Math.round);
  const summary = {
    rounds,
    ...settings,
    throughputPerSecond: { direct: Math.round(med('direct', 'rate')), plugboard: Math.round(med('plugboard', 'rate')), passthrough: Math.round(med('passthrough', 'rate')) },
    perRound: { direct: round(results.direct.map((r) => r.rate)), plugboard: round(results.plugboard.map((r) => r.rate)), passthrough: round(results.passthrough.map((r) => r.rate)) },
    throughputRatioPlugboardToDirect: +median(ratios.plugboardToDirect).toFixed(2),
    throughputRatioPassthroughToDirect: +median(ratios.passthroughToDirect).toFixed(2),
    cpuMicrosPerRequest: {
      plugboard: Math.round(med('plugboard', 'proxyCpu')),
      passthrough: Math.round(med('passthrough', 'proxyCpu')),
      sandbox: Math.round(med('direct', 'sandboxCpu')),
      client: Math.round(med('direct', 'clientCpu')),
    },
    clientBusy: { direct: +med('direct', 'clientBusy').toFixed(2), plugboard: +med('plugboard', 'clientBusy').toFixed(2), passthrough: +med('passthrough', 'clientBusy').toFixed(2) },
    cpuRatioPlugboardToPassthrough: +median(ratios.cpuPlugboardToPassthrough).toFixed(2),
    halfLoad: {
      ratePerSecond: Math.round(halfRate),
      directMs: { p50: p(latency.direct, 50), p99: p(latency.direct, 99) },
      plugboardMs: { p50: p(latency.plugboard, 50), p99: p(latency.plugboard, 99) },
      addedMs: { p50: +(p(latency.plugboard, 50) - p(latency.direct, 50)).toFixed(2), p99: +(p(latency.plugboard, 99) - p(latency.direct, 99)).toFixed(2) },
    },
    soak: {
      seconds: soakSeconds,
      heapMBFirstHalfMedian: median(firstHalf.map((s) => s.heapMB)),
      heapMBSecondHalfMedian: median(secondHalf.map((s) => s.heapMB)),
      rssMBMax: Math.max(...soak.map((s) => s.rssMB)),
      samples: soak,
    },
  };
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  const t = summary.throughputPerSecond;
  const c = summary.cpuMicrosPerRequest;
  process.stdout.write(`proxy bench: ${rounds} rounds x ${settings.requests} requests (warm-up ${settings.warmup}), concurrency ${settings.concurrency}, pipelining ${settings.pipelining}, upstream latency ${settings.upstreamLatencyMs} ms; fresh processes per variant\n`);
  process.stdout.write(`  throughput (req/s, median): direct ${t.direct}, plugboard ${t.plugboard}, passthrough ${t.passthrough}; per round ${JSON.stringify(summary.perRound)}\n`);
  process.stdout.write(`  plugboard / direct throughput: ${summary.throughputRatioPlugboardToDirect}x (target >= 0.7); passthrough / direct: ${summary.throughputRatioPassthroughToDirect}x\n`);
  process.stdout.write(`  CPU per request: plugboard ${c.plugboard} us, passthrough ${c.passthrough} us: ${summary.cpuRatioPlugboardToPassthrough}x (target <= 1.5); sandbox ${c.sandbox} us, load client ${c.client} us\n`);
  process.stdout.write(`  load client busy (CPU / wall): direct ${summary.clientBusy.direct}, plugboard ${summary.clientBusy.plugboard}, passthrough ${summary.clientBusy.passthrough}\n`);
  const h = summary.halfLoad;
  process.stdout.write(`  at ${h.ratePerSecond} req/s: direct p50 ${h.directMs.p50} ms p99 ${h.directMs.p99} ms; plugboard p50 ${h.plugboardMs.p50} ms p99 ${h.plugboardMs.p99} ms; added p50 ${h.addedMs.p50} ms, p99 ${h.addedMs.p99} ms\n`);
  const s = summary.soak;
  process.stdout.write(`  soak ${s.seconds} s: heap after GC ${s.heapMBFirstHalfMedian} MB (first half) -> ${s.heapMBSecondHalfMedian} MB (second half), max RSS ${s.rssMBMax} MB\n`);
}

if (process.argv[2] === 'serve') {
  const role = process.argv[3] as Role;
  if (role === 'sandbox') await serveSandbox(Number(process.argv[4] ?? 0));
  else if (role === 'plugboard') await servePlugboard(process.argv[4], process.argv[5]);
  else await servePassthrough(process.argv[4], process.argv[5]);
} else {
  await main();
}

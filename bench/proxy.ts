/**
 * Proxy benchmark, loopback only, the sandbox API (`GET /api/me` with a bearer token) as the upstream. Variants, all
 * in one run:
 *   - direct:      the load generator calls the sandbox itself (baseline for throughput and latency);
 *   - plugboard:   the same calls through `GET /instances/{id}/proxy/api/me` of a real Plugboard process (SQLite
 *                  store, API-key auth, connection lookup, vault, SSRF-guarded undici pool);
 *   - passthrough: a minimal node:http server forwarding through an undici Pool and adding the bearer header
 *                  (baseline for CPU per proxied request).
 * Each round starts fresh server processes (the sandbox pinned to core 0 and the proxies to core 1 when taskset is
 * present), runs the variants in short interleaved bursts in alternating order with the same client and concurrency,
 * and reads each proxy's own CPU time over IPC. The report gives medians of rounds and the median of per-round
 * ratios. Then, at half of Plugboard's measured throughput (open loop, fixed rate), the added p50/p99 latency against
 * direct calls; then a soak of Plugboard under load with its heap sampled after GC every second.
 *
 *   node bench/proxy.ts [--rounds 3] [--requests 3000] [--concurrency 16] [--latency-seconds 3] [--soak-seconds 5] [--json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';

type Role = 'sandbox' | 'plugboard' | 'passthrough';
type Variant = 'direct' | 'plugboard' | 'passthrough';

interface Ready {
  url: string;
  path: string;
  authorization: string;
  token?: string;
}

type ParentMessage = { type: 'cpu' } | { type: 'mem' };
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
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Child roles

async function serveSandbox(): Promise<void> {
  const { startSandbox } = await import('../src/sandbox/index.ts');
  const sandbox = await startSandbox({ accessTokenTtl: 0 });
  const token = sandbox.admin.issueTokens({ clientId: 'plugboard-demo', userId: 'user-alice', scope: 'profile files.read' }).access_token;
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
// Parent

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

class Child {
  readonly process: ChildProcess;
  readonly ready: Ready;
  readonly #waiting: Array<(m: ChildMessage) => void> = [];

  private constructor(child: ChildProcess, ready: Ready) {
    this.process = child;
    this.ready = ready;
    child.on('message', (m: ChildMessage) => this.#waiting.shift()?.(m));
  }

  static start(role: Role, args: string[], core: number): Promise<Child> {
    const nodeArgs = ['--expose-gc', fileURLToPath(import.meta.url), 'serve', role, ...args];
    const child = hasTaskset
      ? spawn('taskset', ['-c', String(core), process.execPath, ...nodeArgs], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

  stop(): void {
    this.process.kill();
  }
}

class Driver {
  readonly variant: Variant;
  readonly #pool: Pool;
  readonly #ready: Ready;
  readonly #concurrency: number;
  failures = 0;
  seconds = 0;
  requests = 0;

  constructor(variant: Variant, ready: Ready, concurrency: number) {
    this.variant = variant;
    this.#ready = ready;
    this.#concurrency = concurrency;
    this.#pool = new Pool(ready.url, { connections: concurrency });
  }

  async one(): Promise<number> {
    const started = performance.now();
    const res = await this.#pool.request({ method: 'GET', path: this.#ready.path, headers: { authorization: this.#ready.authorization } });
    await res.body.dump();
    if (res.statusCode !== 200) this.failures++;
    return performance.now() - started;
  }

  /** Closed loop: `n` requests with `concurrency` in flight. */
  async burst(n: number, timed = true): Promise<void> {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await this.one();
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: this.#concurrency }, worker));
    if (timed) {
      this.seconds += (performance.now() - started) / 1000;
      this.requests += n;
    }
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

async function main(): Promise<void> {
  const rounds = arg('rounds', 3);
  const requests = arg('requests', 3000);
  const concurrency = arg('concurrency', 16);
  const latencySeconds = arg('latency-seconds', 3);
  const soakSeconds = arg('soak-seconds', 5);
  const bursts = 4;
  const warmup = 500;

  const rates: Record<Variant, number[]> = { direct: [], plugboard: [], passthrough: [] };
  const cpuPerRequest: Record<'plugboard' | 'passthrough', number[]> = { plugboard: [], passthrough: [] };
  const throughputRatio: number[] = [];
  const cpuRatio: number[] = [];

  for (let round = 0; round < rounds; round++) {
    const sandbox = await Child.start('sandbox', [], 0);
    const token = sandbox.ready.token as string;
    const proxies = await Promise.all([Child.start('plugboard', [sandbox.ready.url, token], 1), Child.start('passthrough', [sandbox.ready.url, token], 1)]);
    const drivers: Driver[] = [new Driver('direct', sandbox.ready, concurrency), new Driver('plugboard', proxies[0].ready, concurrency), new Driver('passthrough', proxies[1].ready, concurrency)];
    const cpu: Record<'plugboard' | 'passthrough', number> = { plugboard: 0, passthrough: 0 };
    try {
      for (const d of drivers) await d.burst(warmup, false);
      for (let b = 0; b < bursts; b++) {
        const order = (round + b) % 2 === 0 ? drivers : [...drivers].reverse();
        for (const d of order) {
          const child = d.variant === 'plugboard' ? proxies[0] : d.variant === 'passthrough' ? proxies[1] : null;
          const before = child === null ? 0 : (await child.ask('cpu')).micros;
          await d.burst(Math.ceil(requests / bursts));
          if (child !== null) cpu[d.variant as 'plugboard' | 'passthrough'] += (await child.ask('cpu')).micros - before;
        }
      }
      for (const d of drivers) {
        if (d.failures > 0) throw new Error(`${d.variant}: ${d.failures} requests did not answer 200`);
        rates[d.variant].push(d.requests / d.seconds);
      }
      const perRequest = (v: 'plugboard' | 'passthrough') => cpu[v] / (drivers.find((d) => d.variant === v) as Driver).requests;
      cpuPerRequest.plugboard.push(perRequest('plugboard'));
      cpuPerRequest.passthrough.push(perRequest('passthrough'));
      throughputRatio.push(rates.plugboard[round] / rates.direct[round]);
      cpuRatio.push(perRequest('plugboard') / perRequest('passthrough'));
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
      for (const c of [...proxies, sandbox]) c.stop();
    }
  }

  // Added latency at half of Plugboard's throughput, open loop, direct and proxied alternating in halves.
  const halfRate = median(rates.plugboard) / 2;
  const sandbox = await Child.start('sandbox', [], 0);
  const plugboard = await Child.start('plugboard', [sandbox.ready.url, sandbox.ready.token as string], 1);
  const latency: Record<'direct' | 'plugboard', number[]> = { direct: [], plugboard: [] };
  const soak: Array<{ second: number; heapMB: number; rssMB: number }> = [];
  try {
    const direct = new Driver('direct', sandbox.ready, concurrency);
    const proxied = new Driver('plugboard', plugboard.ready, concurrency);
    await direct.burst(warmup, false);
    await proxied.burst(warmup, false);
    for (const [i, d] of [direct, proxied, proxied, direct].entries()) {
      const ms = await d.atRate(halfRate, latencySeconds / 2);
      latency[d.variant as 'direct' | 'plugboard'].push(...ms);
      if (i === 1) await new Promise((r) => setTimeout(r, 200));
    }
    // Soak: closed-loop load on Plugboard, heap after GC sampled each second.
    const until = performance.now() + soakSeconds * 1000;
    let running = true;
    const load = (async () => {
      while (running) await proxied.burst(concurrency * 20, false);
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
    plugboard.stop();
    sandbox.stop();
  }

  const p = (xs: number[], q: number) => +percentile(xs, q).toFixed(2);
  const firstHalf = soak.slice(0, Math.max(1, Math.floor(soak.length / 2)));
  const secondHalf = soak.slice(Math.floor(soak.length / 2));
  const summary = {
    rounds,
    requests,
    concurrency,
    pinned: hasTaskset ? 'sandbox on core 0, proxies on core 1' : 'not pinned (no taskset)',
    throughputPerSecond: { direct: Math.round(median(rates.direct)), plugboard: Math.round(median(rates.plugboard)), passthrough: Math.round(median(rates.passthrough)) },
    perRound: { direct: rates.direct.map(Math.round), plugboard: rates.plugboard.map(Math.round), passthrough: rates.passthrough.map(Math.round) },
    throughputRatioPlugboardToDirect: +median(throughputRatio).toFixed(2),
    cpuMicrosPerRequest: { plugboard: Math.round(median(cpuPerRequest.plugboard)), passthrough: Math.round(median(cpuPerRequest.passthrough)) },
    cpuRatioPlugboardToPassthrough: +median(cpuRatio).toFixed(2),
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
  process.stdout.write(`proxy bench: ${rounds} rounds x ${requests} requests, concurrency ${concurrency}, ${summary.pinned}\n`);
  process.stdout.write(`  throughput (req/s, median): direct ${t.direct}, plugboard ${t.plugboard}, passthrough ${t.passthrough}; per round ${JSON.stringify(summary.perRound)}\n`);
  process.stdout.write(`  plugboard / direct throughput: ${summary.throughputRatioPlugboardToDirect}x (target >= 0.7)\n`);
  process.stdout.write(`  CPU per request: plugboard ${summary.cpuMicrosPerRequest.plugboard} us, passthrough ${summary.cpuMicrosPerRequest.passthrough} us: ${summary.cpuRatioPlugboardToPassthrough}x (target <= 1.5)\n`);
  const h = summary.halfLoad;
  process.stdout.write(`  at ${h.ratePerSecond} req/s: direct p50 ${h.directMs.p50} ms p99 ${h.directMs.p99} ms; plugboard p50 ${h.plugboardMs.p50} ms p99 ${h.plugboardMs.p99} ms; added p50 ${h.addedMs.p50} ms, p99 ${h.addedMs.p99} ms\n`);
  const s = summary.soak;
  process.stdout.write(`  soak ${s.seconds} s: heap after GC ${s.heapMBFirstHalfMedian} MB (first half) -> ${s.heapMBSecondHalfMedian} MB (second half), max RSS ${s.rssMBMax} MB\n`);
}

if (process.argv[2] === 'serve') {
  const role = process.argv[3] as Role;
  if (role === 'sandbox') await serveSandbox();
  else if (role === 'plugboard') await servePlugboard(process.argv[4], process.argv[5]);
  else await servePassthrough(process.argv[4], process.argv[5]);
} else {
  await main();
}

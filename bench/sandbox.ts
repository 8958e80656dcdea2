/**
 * Sandbox provider throughput: RFC 7009 revocations and RFC 7662 introspections per second, against a bare node:http
 * server (read the body, answer 200) measured in the same run. Each variant runs in a fresh server process pinned to
 * one core (taskset, when present); the load comes from an undici Pool with several pipelined connections in this
 * process. Within a round the variants run interleaved in short bursts in alternating order; the report gives the
 * median of rounds and the median of the per-round ratios to the baseline, plus requests per second of server CPU
 * time (what one dedicated core would sustain, unaffected by other load on the machine).
 *
 *   node bench/sandbox.ts [--rounds 5] [--requests 30000] [--connections 8] [--pipelining 8] [--json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startSandbox } from '../src/sandbox/index.ts';

type Variant = 'bare' | 'revoke' | 'introspect';
const VARIANTS: Variant[] = ['bare', 'revoke', 'introspect'];
const CLIENT = { id: 'plugboard-demo', secret: 'plugboard-demo-secret' };

interface Ready {
  port: number;
  tokens: string[];
}

/** Child side: start one server variant, mint the tokens the load will use, report the port and tokens. */
async function serveVariant(variant: Variant, tokenCount: number): Promise<void> {
  let port: number;
  let tokens: string[] = [];
  if (variant === 'bare') {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-length': 0 });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  } else {
    const sb = await startSandbox();
    port = sb.port;
    tokens = Array.from({ length: tokenCount }, () => sb.admin.issueTokens({ clientId: CLIENT.id }).access_token);
  }
  // The parent asks for this process's CPU time around each timed burst.
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ cpuMicros: u.user + u.system });
    }
  });
  process.send?.({ port, tokens } satisfies Ready);
}

const { values: flags } = parseArgs({
  args: process.argv[2] === 'serve' ? [] : process.argv.slice(2),
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '30000' },
    connections: { type: 'string', default: '8' },
    pipelining: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});

function positive(name: keyof typeof flags): number {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(flags[name])}`);
  return n;
}

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;


function startChild(variant: Variant, tokenCount: number): Promise<{ child: ChildProcess; ready: Ready }> {
  const self = fileURLToPath(import.meta.url);
  const nodeArgs = [self, 'serve', variant, String(tokenCount)];
  const child = hasTaskset
    ? spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready: ready as Ready }));
    child.once('exit', (code) => reject(new Error(`${variant} server exited early (${code})`)));
  });
}

/** Drives one server: a persistent undici Pool and a cursor over that server's tokens. */
class Driver {
  readonly variant: Variant;
  private readonly pool: Pool;
  private readonly tokens: string[];
  private readonly path: string;
  private readonly width: number;
  private cursor = 0;
  failures = 0;
  seconds = 0;
  /** Server CPU seconds spent in timed bursts: requests per CPU second is what one dedicated core would serve. */
  cpuSeconds = 0;
  private readonly child: ChildProcess;
  requests = 0;

  constructor(variant: Variant, child: ChildProcess, ready: Ready, connections: number, pipelining: number) {
    this.variant = variant;
    this.child = child;
    this.pool = new Pool(`http://127.0.0.1:${ready.port}`, { connections, pipelining });
    this.tokens = ready.tokens;
    this.path = variant === 'introspect' ? '/oauth/introspect' : variant === 'revoke' ? '/oauth/revoke' : '/';
    this.width = connections * pipelining;
  }

  private async one(): Promise<void> {
    const token = this.tokens.length === 0 ? 'x' : this.tokens[this.cursor++ % this.tokens.length];
    const res = await this.pool.request({ method: 'POST', path: this.path, headers: { authorization: AUTHORIZATION, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
    await res.body.dump();
    if (res.statusCode !== 200) this.failures += 1;
  }

  private serverCpu(): Promise<number> {
    return new Promise((resolve) => {
      this.child.once('message', (m) => resolve((m as { cpuMicros: number }).cpuMicros / 1e6));
      this.child.send('cpu');
    });
  }

  /** Send `n` requests with `width` in flight; `timed: false` is a warm-up that is not counted. */
  async burst(n: number, timed = true): Promise<void> {
    let left = n;
    const worker = async (): Promise<void> => {
      while (left-- > 0) await this.one();
    };
    const cpuBefore = timed ? await this.serverCpu() : 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: this.width }, worker));
    if (timed) {
      this.seconds += (performance.now() - started) / 1000;
      this.cpuSeconds += (await this.serverCpu()) - cpuBefore;
      this.requests += n;
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

const AUTHORIZATION = 'Basic ' + Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const rounds = positive('rounds');
  const requests = positive('requests');
  const connections = positive('connections');
  const pipelining = positive('pipelining');
  const bursts = 6;
  const warmup = 2000;
  const rates: Record<Variant, number[]> = { bare: [], revoke: [], introspect: [] };
  const ratios: Record<'revoke' | 'introspect', number[]> = { revoke: [], introspect: [] };
  const perCpuSecond: Record<Variant, number[]> = { bare: [], revoke: [], introspect: [] };
  for (let round = 0; round < rounds; round++) {
    // Fresh server processes each round. Their bursts interleave, so a neighbour's load on the machine hits every
    // variant alike instead of one variant's whole run.
    const started = await Promise.all(VARIANTS.map((v) => startChild(v, v === 'bare' ? 0 : requests + warmup)));
    const drivers = started.map(({ child, ready }, i) => new Driver(VARIANTS[i], child, ready, connections, pipelining));
    try {
      for (const d of drivers) await d.burst(warmup, false);
      for (let b = 0; b < bursts; b++) {
        const order = (round + b) % 2 === 0 ? drivers : [...drivers].reverse();
        for (const d of order) await d.burst(Math.ceil(requests / bursts));
      }
      for (const d of drivers) {
        if (d.failures > 0) throw new Error(`${d.variant}: ${d.failures} requests did not answer 200`);
        rates[d.variant].push(d.requests / d.seconds);
        perCpuSecond[d.variant].push(d.requests / d.cpuSeconds);
      }
      const bareRate = rates.bare[round];
      ratios.revoke.push(rates.revoke[round] / bareRate);
      ratios.introspect.push(rates.introspect[round] / bareRate);
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
      for (const { child } of started) child.kill();
    }
  }
  const summary = {
    rounds,
    requests,
    connections,
    pipelining,
    serverPinnedToOneCore: hasTaskset,
    perRound: { bare: rates.bare.map(Math.round), revoke: rates.revoke.map(Math.round), introspect: rates.introspect.map(Math.round) },
    medianPerSecond: { bare: Math.round(median(rates.bare)), revoke: Math.round(median(rates.revoke)), introspect: Math.round(median(rates.introspect)) },
    // Median of the per-round ratios: each ratio compares variants that ran interleaved in the same round.
    ratioToBare: { revoke: +median(ratios.revoke).toFixed(2), introspect: +median(ratios.introspect).toFixed(2) },
    // Requests per second of server CPU time: the rate one dedicated core would sustain, whatever else runs.
    perServerCpuSecond: { bare: Math.round(median(perCpuSecond.bare)), revoke: Math.round(median(perCpuSecond.revoke)), introspect: Math.round(median(perCpuSecond.introspect)) },
    cpuRatioToBare: { revoke: +(median(perCpuSecond.revoke) / median(perCpuSecond.bare)).toFixed(2), introspect: +(median(perCpuSecond.introspect) / median(perCpuSecond.bare)).toFixed(2) },
  };
  if (flags.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(`sandbox bench: ${rounds} rounds x ${requests} requests, ${connections} connections x ${pipelining} pipelined, server ${hasTaskset ? 'pinned to one core' : 'not pinned (no taskset)'}\n`);
  process.stdout.write(`  per round (req/s): ${JSON.stringify(summary.perRound)}\n`);
  process.stdout.write(`  bare node:http   ${summary.medianPerSecond.bare.toString().padStart(8)} req/s\n`);
  process.stdout.write(`  revoke (7009)    ${summary.medianPerSecond.revoke.toString().padStart(8)} req/s  ${summary.ratioToBare.revoke}x bare\n`);
  process.stdout.write(`  introspect       ${summary.medianPerSecond.introspect.toString().padStart(8)} req/s  ${summary.ratioToBare.introspect}x bare\n`);
  const c = summary.perServerCpuSecond;
  process.stdout.write(`  per server CPU second: bare ${c.bare}, revoke ${c.revoke} (${summary.cpuRatioToBare.revoke}x), introspect ${c.introspect} (${summary.cpuRatioToBare.introspect}x)\n`);
}

if (process.argv[2] === 'serve') {
  await serveVariant(process.argv[3] as Variant, Number(process.argv[4]));
} else {
  await main();
}

/**
 * Sandbox provider throughput: RFC 7009 revocations and RFC 7662 introspections per second, against a bare node:http
 * server (read the body, answer 200) measured in the same run. Each variant runs in a fresh server process pinned to
 * one core (taskset, when present); the load comes from an undici Pool with several pipelined connections in this
 * process. Rounds alternate the variant order; the report gives the median of rounds and the ratio to the baseline.
 *
 *   node bench/sandbox.ts [--rounds 5] [--requests 30000] [--connections 8] [--pipelining 8] [--json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
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
  process.send?.({ port, tokens } satisfies Ready);
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
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

async function load(variant: Variant, ready: Ready, requests: number, connections: number, pipelining: number): Promise<number> {
  const pool = new Pool(`http://127.0.0.1:${ready.port}`, { connections, pipelining });
  const authorization = 'Basic ' + Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64');
  const path = variant === 'introspect' ? '/oauth/introspect' : variant === 'revoke' ? '/oauth/revoke' : '/';
  let next = 0;
  let failures = 0;
  const one = async (i: number): Promise<void> => {
    const token = ready.tokens.length === 0 ? 'x' : ready.tokens[i % ready.tokens.length];
    const res = await pool.request({ method: 'POST', path, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
    await res.body.dump();
    if (res.statusCode !== 200) failures += 1;
  };
  const worker = async (): Promise<void> => {
    while (next < requests) await one(next++);
  };
  // Warm up the JIT and the connections before timing.
  for (let i = 0; i < 2000; i++) await one(requests + i);
  next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: connections * pipelining }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  if (failures > 0) throw new Error(`${variant}: ${failures} requests did not answer 200`);
  return requests / seconds;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function main(): Promise<void> {
  const rounds = arg('rounds', 5);
  const requests = arg('requests', 30000);
  const connections = arg('connections', 8);
  const pipelining = arg('pipelining', 8);
  const results: Record<Variant, number[]> = { bare: [], revoke: [], introspect: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      // Enough distinct live tokens that every timed revocation kills a real token.
      const { child, ready } = await startChild(variant, variant === 'bare' ? 0 : requests + 2000);
      try {
        results[variant].push(await load(variant, ready, requests, connections, pipelining));
      } finally {
        child.kill();
      }
    }
  }
  const bare = median(results.bare);
  const summary = {
    rounds,
    requests,
    connections,
    pipelining,
    pinnedToOneCore: hasTaskset,
    medianPerSecond: { bare: Math.round(bare), revoke: Math.round(median(results.revoke)), introspect: Math.round(median(results.introspect)) },
    ratioToBare: { revoke: +(median(results.revoke) / bare).toFixed(2), introspect: +(median(results.introspect) / bare).toFixed(2) },
  };
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  process.stdout.write(`sandbox bench: ${rounds} rounds x ${requests} requests, ${connections} connections x ${pipelining} pipelined, server ${hasTaskset ? 'pinned to one core' : 'not pinned (no taskset)'}\n`);
  process.stdout.write(`  bare node:http   ${summary.medianPerSecond.bare.toString().padStart(8)} req/s\n`);
  process.stdout.write(`  revoke (7009)    ${summary.medianPerSecond.revoke.toString().padStart(8)} req/s  ${summary.ratioToBare.revoke}x bare\n`);
  process.stdout.write(`  introspect       ${summary.medianPerSecond.introspect.toString().padStart(8)} req/s  ${summary.ratioToBare.introspect}x bare\n`);
}

if (process.argv[2] === 'serve') {
  await serveVariant(process.argv[3] as Variant, Number(process.argv[4]));
} else {
  await main();
}

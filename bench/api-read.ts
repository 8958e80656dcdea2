/**
 * CPU per authenticated API read (`GET /api-keys` with a Bearer API key on the embedded store) against a bare
 * `node:http` server, measured in the same run. The bare server sends exactly the answer Plugboard gives (the same
 * body bytes, the same headers with values of the same length), captured once from a Plugboard process at start-up and
 * checked against the bare server's own answer, so serialisation and socket writes are comparable. A fourth variant
 * does the same read by hand on node:http and node:sqlite (see `startHandwritten`): the floor of the work itself. Each round starts a fresh
 * server process per variant, in alternating order; the load comes from this process (undici pool, keep-alive) and
 * the server reports the CPU time (user + system) it spent during the load, so the figure is CPU per request, not
 * latency. A third variant, unauthenticated `GET /health` on the same server, shows the HTTP-framework floor. Reports the median of the per-round ratios. Target (issue 2): <= 2x.
 *
 *   node bench/api-read.ts [--rounds 5] [--requests 10000] [--warmup 20000] [--connections 8] [--json] [--profile <dir>]
 *
 * The warm-up requests run before the measured ones, on every variant alike: V8 keeps compiling a large server's hot
 * functions (in background threads, which count as the process's CPU time) for tens of thousands of requests, so a
 * short warm-up measures the compiler more than the request path. `--warmup 500 --requests 4000` gives the figures of
 * the earlier runs in docs/benchmarks.md.
 *
 * `--profile <dir>` writes a V8 CPU profile of each Plugboard server process into `<dir>` (open it in Chrome DevTools).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

type Variant = 'plugboard' | 'health' | 'bare' | 'handwritten';
interface Ready { url: string; apiKey: string; path: string }
/** One HTTP answer: status, headers in order (name, value), body text. */
interface Answer { status: number; headers: Array<[string, string]>; body: string }

/** Headers node:http writes by itself on a keep-alive answer; the bare server leaves them to it. */
const AUTOMATIC_HEADERS = new Set(['date', 'connection', 'keep-alive']);

const SELF = fileURLToPath(import.meta.url);

async function child(variant: Variant, answer: Answer | undefined): Promise<void> {
  let ready: Ready;
  let close: () => Promise<void>;
  if (variant === 'plugboard' || variant === 'health') {
    const { app, dataDir } = await startPlugboard();
    ready = { url: app.url, apiKey: app.bootstrap!.apiKey, path: variant === 'health' ? '/health' : '/api-keys' };
    close = async () => { await app.close(); rmSync(dataDir, { recursive: true, force: true }); };
  } else if (variant === 'handwritten') {
    const served = await startHandwritten();
    ready = { url: served.url, apiKey: served.apiKey, path: '/api-keys' };
    close = served.close;
  } else {
    // Plugboard's answer, byte for byte: the same body and the same headers (node:http adds Date, Connection and
    // Keep-Alive itself; the keep-alive timeout is set to the one Plugboard announces, so those match too).
    const { status, headers, body } = answer!;
    const own = Object.fromEntries(headers.filter(([name]) => !AUTOMATIC_HEADERS.has(name)));
    const keepAlive = /timeout=(\d+)/.exec(headers.find(([name]) => name === 'keep-alive')?.[1] ?? '');
    const server = createServer((req, res) => {
      res.writeHead(status, own);
      res.end(body);
    });
    if (keepAlive !== null) server.keepAliveTimeout = Number(keepAlive[1]) * 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    ready = { url: `http://127.0.0.1:${address.port}`, apiKey: 'unused', path: '/api-keys' };
    close = () => new Promise((resolve) => server.close(() => resolve()));
  }
  let start = process.cpuUsage();
  process.on('message', async (message: string) => {
    if (message === 'start') {
      start = process.cpuUsage();
      process.send!('started');
    } else if (message === 'stop') {
      const used = process.cpuUsage(start);
      process.send!({ cpuMicros: used.user + used.system });
    } else if (message === 'exit') {
      await close();
      process.exit(0);
    }
  });
  process.send!(ready);
}

async function startPlugboard() {
  const { loadConfig } = await import('../src/config.ts');
  const { startApp } = await import('../src/app.ts');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'plugboard-bench-'));
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir, logLevel: 'warn', sandbox: { enabled: false }, webDir: path.join(dataDir, 'none') });
  const app = await startApp(config, { logStream: { write: () => {} } });
  return { app, dataDir };
}

/**
 * The same read written by hand on node:http and node:sqlite, on a database Plugboard created (same schema, same
 * rows, same key): parse the Bearer key, read its row, compare the SHA-256 of the presented key with the stored hash
 * in constant time, check revocation and the permission, read the organization's keys, answer the same JSON with the
 * same headers. Two store reads per request like Plugboard's (its change stamp and the listing); no framework, no
 * cache, no validation beyond what the answer needs: the floor of this work in this process model.
 */
async function startHandwritten(): Promise<{ url: string; apiKey: string; close(): Promise<void> }> {
  const { app, dataDir } = await startPlugboard();
  const apiKey = app.bootstrap!.apiKey;
  const keepAliveTimeout = app.app.server.keepAliveTimeout;
  await app.close();
  const db = new DatabaseSync(path.join(dataDir, 'plugboard.db'));
  // Plugboard records the key's first use, which its listing then shows: the same here, so the answers match.
  db.prepare('UPDATE api_keys SET last_used_at = ? WHERE last_used_at IS NULL').run(new Date().toISOString());
  const findKey = db.prepare('SELECT * FROM api_keys WHERE lookup = ?');
  const listKeys = db.prepare('SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, id');
  type Row = Record<string, string | null>;
  const server = createServer((req, res) => {
    const presented = /^Bearer (pb_([0-9a-f]{12})_[A-Za-z0-9_-]{43})$/.exec(req.headers.authorization ?? '');
    const key = presented === null ? undefined : findKey.get(presented[2]) as Row | undefined;
    const valid = presented !== null && key !== undefined && key.revoked_at === null
      && timingSafeEqual(Buffer.from(hash('sha256', presented[1], 'hex'), 'hex'), Buffer.from(key.secret_hash!, 'hex'))
      && (JSON.parse(key.permissions!) as string[]).includes('api-keys:read');
    if (!valid) {
      res.writeHead(401, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"code":"UNAUTHENTICATED"}');
      return;
    }
    const apiKeys = (listKeys.all(key.org_id) as Row[]).map((row) => ({
      id: row.id, orgId: row.org_id, userId: row.user_id, name: row.name, prefix: `pb_${row.lookup}`, permissions: JSON.parse(row.permissions!) as string[],
      createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at,
    }));
    const body = JSON.stringify({ apiKeys });
    res.writeHead(200, { 'x-request-id': randomUUID(), 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = keepAliveTimeout;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    apiKey,
    close: () => new Promise((resolve) => server.close(() => {
      db.close();
      rmSync(dataDir, { recursive: true, force: true });
      resolve();
    })),
  };
}

function once<T>(proc: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

function spawnServer(variant: Variant, answer?: Answer, profileDir?: string): ChildProcess {
  const execArgv = profileDir !== undefined && variant !== 'bare' ? [...process.execArgv, '--cpu-prof', '--cpu-prof-dir', profileDir] : process.execArgv;
  const args = ['--child', variant, ...(answer === undefined ? [] : ['--answer', Buffer.from(JSON.stringify(answer)).toString('base64')])];
  return fork(SELF, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
}

async function stop(proc: ChildProcess): Promise<void> {
  proc.send('exit');
  await new Promise((resolve) => proc.once('exit', resolve));
}

async function fetchAnswer(ready: Ready): Promise<Answer> {
  const pool = new Pool(ready.url, { connections: 1 });
  const res = await pool.request({ method: 'GET', path: ready.path, headers: { authorization: `Bearer ${ready.apiKey}` } });
  const body = await res.body.text();
  await pool.close();
  const headers: Array<[string, string]> = Object.entries(res.headers).map(([name, value]) => [name, String(value)]);
  return { status: res.statusCode, headers, body };
}

/** Plugboard's real answer to the measured read, fetched once from a Plugboard server. */
async function captureAnswer(): Promise<Answer> {
  const proc = spawnServer('plugboard');
  const ready = await once<Ready>(proc);
  // The second answer: the first use of the key records its last use, which the listing then shows.
  await fetchAnswer(ready);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const answer = await fetchAnswer(ready);
  await stop(proc);
  if (answer.status !== 200) throw new Error(`Plugboard answered ${answer.status}`);
  return answer;
}

/** The bare server's answer must be Plugboard's: same status, body and header names, values of the same length. */
function sameShape(a: Answer, b: Answer, options = { sameIds: true }): boolean {
  // Another database (the hand-written variant) has other ids and times: then the body must have the same length.
  const sameBody = options.sameIds ? a.body === b.body : a.body.length === b.body.length;
  return a.status === b.status && sameBody && a.headers.length === b.headers.length
    && a.headers.every(([name, value], i) => b.headers[i][0] === name && b.headers[i][1].length === value.length);
}

async function measure(variant: Variant, requests: number, warmup: number, connections: number, answer: Answer, profileDir?: string): Promise<number> {
  const proc = spawnServer(variant, variant === 'bare' ? answer : undefined, profileDir);
  const ready = await once<Ready>(proc);
  if (variant === 'bare' && !sameShape(await fetchAnswer(ready), answer)) throw new Error('the bare server does not send Plugboard\'s answer');
  if (variant === 'handwritten' && !sameShape(await fetchAnswer(ready), answer, { sameIds: false })) throw new Error('the hand-written server does not answer like Plugboard');
  const pool = new Pool(ready.url, { connections, pipelining: 1 });
  const headers = { authorization: `Bearer ${ready.apiKey}` };
  const run = async (n: number) => {
    let next = 0;
    await Promise.all(Array.from({ length: connections }, async () => {
      while (next < n) {
        next += 1;
        const res = await pool.request({ method: 'GET', path: ready.path, headers });
        if (res.statusCode !== 200) throw new Error(`${variant} answered ${res.statusCode}`);
        await res.body.dump();
      }
    }));
  };
  await run(warmup); // JIT, caches, connections
  proc.send('start');
  await once(proc);
  await run(requests);
  proc.send('stop');
  const { cpuMicros } = await once<{ cpuMicros: number }>(proc);
  await pool.close();
  await stop(proc);
  return cpuMicros / requests;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, requests: { type: 'string', default: '10000' }, warmup: { type: 'string', default: '20000' }, connections: { type: 'string', default: '8' }, json: { type: 'boolean', default: false }, profile: { type: 'string' }, child: { type: 'string' }, answer: { type: 'string' } } });
  if (values.child !== undefined) return child(values.child as Variant, values.answer === undefined ? undefined : JSON.parse(Buffer.from(values.answer, 'base64').toString('utf8')) as Answer);
  const rounds = Number(values.rounds);
  const requests = Number(values.requests);
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const answer = await captureAnswer();
  const results: Array<{ round: number; plugboardMicros: number; healthMicros: number; bareMicros: number; handwrittenMicros: number; ratio: number; handwrittenRatio: number }> = [];
  for (let round = 0; round < rounds; round++) {
    const order: Variant[] = round % 2 === 0 ? ['bare', 'health', 'handwritten', 'plugboard'] : ['plugboard', 'handwritten', 'health', 'bare'];
    const cpu: Record<Variant, number> = { bare: 0, health: 0, handwritten: 0, plugboard: 0 };
    for (const variant of order) cpu[variant] = await measure(variant, requests, warmup, connections, answer, values.profile);
    results.push({
      round, plugboardMicros: cpu.plugboard, healthMicros: cpu.health, bareMicros: cpu.bare, handwrittenMicros: cpu.handwritten,
      ratio: cpu.plugboard / cpu.bare, handwrittenRatio: cpu.handwritten / cpu.bare,
    });
  }
  const summary = {
    rounds, requests, warmup, connections,
    plugboardMicrosPerRequest: median(results.map((r) => r.plugboardMicros)),
    bareMicrosPerRequest: median(results.map((r) => r.bareMicros)),
    unauthenticatedHealthMicrosPerRequest: median(results.map((r) => r.healthMicros)),
    handwrittenMicrosPerRequest: median(results.map((r) => r.handwrittenMicros)),
    ratio: median(results.map((r) => r.ratio)),
    handwrittenRatio: median(results.map((r) => r.handwrittenRatio)),
    target: 2,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ summary, results }, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(`round ${r.round}: plugboard ${r.plugboardMicros.toFixed(1)} us/req, /health ${r.healthMicros.toFixed(1)} us/req, hand-written ${r.handwrittenMicros.toFixed(1)} us/req, bare ${r.bareMicros.toFixed(1)} us/req, ratio ${r.ratio.toFixed(2)} (hand-written ${r.handwrittenRatio.toFixed(2)})\n`);
  }
  process.stdout.write(`${rounds} rounds, ${warmup} warm-up + ${requests} measured requests per variant\n`);
  process.stdout.write(`median: plugboard ${summary.plugboardMicrosPerRequest.toFixed(1)} us CPU per authenticated read, unauthenticated /health ${summary.unauthenticatedHealthMicrosPerRequest.toFixed(1)} us, the same read hand-written ${summary.handwrittenMicrosPerRequest.toFixed(1)} us, bare node:http ${summary.bareMicrosPerRequest.toFixed(1)} us; ratio ${summary.ratio.toFixed(2)} (target <= 2), hand-written ${summary.handwrittenRatio.toFixed(2)}\n`);
}

await main();

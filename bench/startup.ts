/**
 * Time from process start to ready on the embedded store: `plugboard start` is spawned and timed until it logs that
 * it is ready (listening, store migrated, keyring loaded), on a fresh data folder (first start: migrations, master
 * key, admin) and on an existing one (a restart). Baseline in the same run: spawning Node with a bare `node:http`
 * server that prints when it listens, which is the floor any Node server pays. Variant order alternates between
 * rounds; medians are reported. Target (issue 2): ready in well under a second.
 *
 *   node bench/startup.ts [--rounds 5] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const BARE = "require('node:http').createServer((q, s) => s.end()).listen(0, '127.0.0.1', () => console.log('ready'))";

function timeUntil(args: string[], marker: RegExp, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!done && marker.test(out)) {
        done = true;
        const ms = performance.now() - start;
        child.kill('SIGTERM');
        child.once('exit', () => resolve(ms));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      if (!done) reject(new Error(`exited with ${code} before ready:\n${out}`));
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const env = { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', SANDBOX: 'off' };
const results: Array<{ bare: number; first: number; restart: number }> = [];
for (let round = 0; round < rounds; round++) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'plugboard-startup-'));
  const args = [MAIN, 'start', '--port', '0', '--no-sandbox', '--data-dir', dataDir];
  const ready = /"msg":"ready: API reference/;
  const row = { bare: 0, first: 0, restart: 0 };
  if (round % 2 === 0) {
    row.bare = await timeUntil(['-e', BARE], /ready/, env);
    row.first = await timeUntil(args, ready, env);
    row.restart = await timeUntil(args, ready, env);
  } else {
    row.first = await timeUntil(args, ready, env);
    row.restart = await timeUntil(args, ready, env);
    row.bare = await timeUntil(['-e', BARE], /ready/, env);
  }
  rmSync(dataDir, { recursive: true, force: true });
  results.push(row);
}
const summary = {
  rounds,
  bareMs: median(results.map((r) => r.bare)),
  firstStartMs: median(results.map((r) => r.first)),
  restartMs: median(results.map((r) => r.restart)),
  restartRatio: median(results.map((r) => r.restart / r.bare)),
};
if (values.json) process.stdout.write(`${JSON.stringify({ summary, results }, null, 2)}\n`);
else process.stdout.write(`process start to ready: first start ${summary.firstStartMs.toFixed(0)} ms, restart ${summary.restartMs.toFixed(0)} ms, bare node:http ${summary.bareMs.toFixed(0)} ms (restart/bare ${summary.restartRatio.toFixed(2)})\n`);

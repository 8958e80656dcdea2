/**
 * `npm run bench`: every benchmark in this folder, one after the other, each in its own process with its output as it
 * prints it, then a line per benchmark with its exit status and wall time. A benchmark that fails does not stop the
 * others; the run exits non-zero if any failed.
 *
 *   npm run bench [-- --quick] [-- --only vault,flows]
 *
 * `--quick` gives each benchmark small sizes (a smoke run in a few minutes; its figures are not the documented ones);
 * without it each runs with its own defaults, as docs/benchmarks.md reports them (the erasure alone takes several
 * minutes per round at 100,000 connections). `--only` takes a comma-separated list of names (file names without
 * `.ts`). The PostgreSQL variants run when PLUGBOARD_BENCH_DATABASE_URL is set, as each benchmark documents.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Each benchmark and the flags of its quick run. */
const BENCHMARKS: ReadonlyArray<{ name: string; quick: string[] }> = [
  { name: 'vault', quick: ['--rounds', '3', '--ops', '5000'] },
  { name: 'startup', quick: ['--rounds', '2'] },
  { name: 'sandbox', quick: ['--rounds', '2', '--requests', '5000'] },
  { name: 'flows', quick: ['--rounds', '5', '--batch', '500'] },
  { name: 'connections', quick: ['--rounds', '3', '--ops', '500'] },
  { name: 'api-read', quick: ['--rounds', '1', '--requests', '3000', '--warmup', '3000'] },
  { name: 'proxy', quick: ['--rounds', '1', '--requests', '2000', '--warmup', '1000', '--latency-seconds', '1', '--soak-seconds', '1'] },
  { name: 'erasure', quick: ['--connections', '5000', '--rounds', '1'] },
];

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
const known = new Set(BENCHMARKS.map((b) => b.name));
const only = values.only === undefined ? null : values.only.split(',').map((n) => n.trim()).filter((n) => n !== '');
for (const name of only ?? []) {
  if (!known.has(name)) {
    process.stderr.write(`--only: there is no benchmark "${name}"; the benchmarks are ${[...known].join(', ')}\n`);
    process.exit(2);
  }
}

function run(name: string, flags: string[]): Promise<number | null> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, [script, ...flags], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
}

const results: Array<{ name: string; code: number | null; seconds: number }> = [];
for (const bench of BENCHMARKS) {
  if (only !== null && !only.includes(bench.name)) continue;
  const flags = values.quick ? bench.quick : [];
  process.stdout.write(`\n=== bench/${bench.name}.ts ${flags.join(' ')}\n`);
  const started = performance.now();
  const code = await run(bench.name, flags);
  results.push({ name: bench.name, code, seconds: (performance.now() - started) / 1000 });
}

process.stdout.write('\n');
for (const { name, code, seconds } of results) {
  process.stdout.write(`${code === 0 ? 'ok    ' : 'FAILED'} ${name.padEnd(12)} ${seconds.toFixed(1).padStart(7)} s${code === 0 ? '' : ` (exit ${code ?? 'signal'})`}\n`);
}
process.exit(results.every((r) => r.code === 0) ? 0 : 1);

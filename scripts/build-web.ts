/**
 * Builds the web console (`web/`) into `web/dist` with Vite's JavaScript API, but only when the build is missing or
 * older than its sources (`web/src/**`, `web/index.html`, `web/vite.config.ts`). `npm start` and `npm test` run it
 * first, so a fresh checkout serves the console with no extra step, and an unchanged tree costs one directory walk.
 *
 * Usage: `node scripts/build-web.ts [--force]`. Also importable: `ensureWebBuilt()` for tests that need the console.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('../web/', import.meta.url));

/** Newest modification time (ms) of a file or of every file below a directory; 0 when absent. */
function newestMtime(path: string): number {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs; // a deleted file bumps its directory's mtime
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** True when `<dir>/dist` is missing or older than any console source below `dir` (default: `web/`). */
export function webBuildIsStale(dir: string = webDir): boolean {
  const built = newestMtime(join(dir, 'dist', 'index.html'));
  if (built === 0) return true;
  const sources = Math.max(
    newestMtime(join(dir, 'src')),
    newestMtime(join(dir, 'index.html')),
    newestMtime(join(dir, 'vite.config.ts')),
  );
  return sources > built;
}

export interface WebBuildResult {
  built: boolean;
  ms: number;
}

/** Builds the console when stale (or when forced); resolves once `web/dist` is current. */
export async function ensureWebBuilt(options: { force?: boolean } = {}): Promise<WebBuildResult> {
  const started = performance.now();
  if (!options.force && !webBuildIsStale()) return { built: false, ms: performance.now() - started };
  // Imported lazily: an up-to-date tree never pays for loading Vite.
  const { build } = await import('vite');
  await build({ configFile: join(webDir, 'vite.config.ts'), root: webDir, logLevel: 'warn' });
  return { built: true, ms: performance.now() - started };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const result = await ensureWebBuilt({ force: process.argv.includes('--force') });
    if (result.built) console.log(`web console built into web/dist in ${Math.round(result.ms)} ms`);
  } catch (error) {
    console.error(`web console build failed: ${error instanceof Error ? error.message : String(error)}`);
    console.error('Fix the error above in web/, or run `node scripts/build-web.ts --force` to rebuild from scratch.');
    process.exitCode = 1;
  }
}

/**
 * The console build check (`scripts/build-web.ts`): `web/dist` is rebuilt exactly when it is missing or older than a
 * source, including when a source file is deleted. Runs on a scratch copy of the layout, never on the real `web/`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webBuildIsStale } from '../../scripts/build-web.ts';

function layout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-web-'));
  mkdirSync(join(dir, 'src', 'pages'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<div id="root"></div>');
  writeFileSync(join(dir, 'vite.config.ts'), 'export default {};');
  writeFileSync(join(dir, 'src', 'main.tsx'), '');
  writeFileSync(join(dir, 'src', 'pages', 'A.tsx'), '');
  return dir;
}

/** Sets every path's mtime to `seconds` (epoch), so tests do not depend on the file system's clock resolution. */
function age(seconds: number, ...paths: string[]): void {
  for (const path of paths) utimesSync(path, seconds, seconds);
}

function built(dir: string, seconds: number): void {
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'index.html'), '');
  age(seconds, join(dir, 'dist', 'index.html'));
}

function sources(dir: string): string[] {
  return [join(dir, 'index.html'), join(dir, 'vite.config.ts'), join(dir, 'src'), join(dir, 'src', 'main.tsx'), join(dir, 'src', 'pages'), join(dir, 'src', 'pages', 'A.tsx')];
}

test('a missing dist is stale', (t) => {
  const dir = layout();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(webBuildIsStale(dir), true);
});

test('a dist newer than every source is current', (t) => {
  const dir = layout();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  age(1_000, ...sources(dir));
  built(dir, 2_000);
  assert.equal(webBuildIsStale(dir), false);
});

test('a source edited after the build (deep in src/) makes it stale', (t) => {
  const dir = layout();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  age(1_000, ...sources(dir));
  built(dir, 2_000);
  age(3_000, join(dir, 'src', 'pages', 'A.tsx'));
  assert.equal(webBuildIsStale(dir), true);
});

test('an edited index.html or vite.config.ts makes it stale', (t) => {
  const dir = layout();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  age(1_000, ...sources(dir));
  built(dir, 2_000);
  age(3_000, join(dir, 'vite.config.ts'));
  assert.equal(webBuildIsStale(dir), true);
  age(1_000, join(dir, 'vite.config.ts'));
  age(3_000, join(dir, 'index.html'));
  assert.equal(webBuildIsStale(dir), true);
});

test('a deleted source file makes it stale (its directory changed)', (t) => {
  const dir = layout();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  age(1_000, ...sources(dir));
  built(dir, 2_000);
  rmSync(join(dir, 'src', 'pages', 'A.tsx'));
  assert.equal(webBuildIsStale(dir), true);
});

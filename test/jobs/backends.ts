/**
 * Backends the job tests run on: SQLite always, PostgreSQL (pg-boss) when PLUGBOARD_TEST_DATABASE_URL is set. Each
 * opened store is isolated: a fresh temp directory, or a fresh database dropped afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.ts';

export interface TestStore {
  store: Store;
  /** What a child process needs to open the same store. */
  location: { databaseUrl?: string; dataDir: string };
  cleanup(): Promise<void>;
}

export const BACKENDS: ('sqlite' | 'postgres')[] = process.env.PLUGBOARD_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export async function openTestStore(backend: 'sqlite' | 'postgres'): Promise<TestStore> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'plugboard-jobs-'));
  if (backend === 'sqlite') {
    const store = await openStore({ dataDir });
    return {
      store,
      location: { dataDir },
      async cleanup() {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const adminUrl = process.env.PLUGBOARD_TEST_DATABASE_URL as string;
  const name = `plugboard_jobs_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const store = await openStore({ databaseUrl, dataDir });
  return {
    store,
    location: { databaseUrl, dataDir },
    async cleanup() {
      await store.close();
      const drop = new pg.Client({ connectionString: adminUrl });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

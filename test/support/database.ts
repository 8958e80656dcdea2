/**
 * Test backends. `BACKENDS` is SQLite always, plus PostgreSQL when PLUGBOARD_TEST_DATABASE_URL is set; suites loop
 * over it (`for (const backend of BACKENDS)`). Each PostgreSQL use gets a fresh database, dropped afterwards, and
 * each SQLite use a fresh temporary folder, so test files running in parallel never share state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type Backend = 'sqlite' | 'postgres';

export const POSTGRES_TEST_URL = process.env.PLUGBOARD_TEST_DATABASE_URL;

export const BACKENDS: readonly Backend[] = POSTGRES_TEST_URL === undefined || POSTGRES_TEST_URL === '' ? ['sqlite'] : ['sqlite', 'postgres'];

export interface TestDatabase {
  backend: Backend;
  /** PostgreSQL URL of the fresh database (undefined for SQLite). */
  databaseUrl?: string;
  /** Folder for the SQLite file, master key and credentials (used by both backends). */
  dataDir: string;
  drop(): Promise<void>;
}

export function tempDir(prefix = 'plugboard-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  const dataDir = tempDir();
  if (backend === 'sqlite') {
    return { backend, dataDir, async drop() { rmSync(dataDir, { recursive: true, force: true }); } };
  }
  if (POSTGRES_TEST_URL === undefined) throw new Error('PLUGBOARD_TEST_DATABASE_URL is not set; PostgreSQL tests cannot run');
  const name = `plugboard_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_TEST_URL);
  url.pathname = `/${name}`;
  return {
    backend,
    dataDir,
    databaseUrl: url.toString(),
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

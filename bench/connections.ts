/**
 * Cost of the connections hot paths, as ratios against reading the same row and opening its sealed token by hand
 * (what any token read must do at least), measured in the same run on the embedded store (and on a fresh PostgreSQL
 * database, dropped afterwards, when PLUGBOARD_BENCH_DATABASE_URL names a server):
 *   - `fresh token`: getFreshAccessToken on a connection whose token is fresh (the path every proxied call takes);
 *   - `lock`: withConnectionLock around nothing (queue, lease UPDATE, release UPDATE), the price of a refresh's
 *     serialisation, paid only when a token must be refreshed.
 * Variant order alternates between rounds; the report is the median of rounds.
 *
 *   node bench/connections.ts [--rounds 7] [--ops 2000] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createContext, type AppContext } from '../src/context.ts';
import { insertConnection, openSecret } from '../src/store/connections.ts';
import { getFreshAccessToken } from '../src/auth/tokens.ts';
import { withConnectionLock } from '../src/auth/lock.ts';
import { initialState } from '../src/core/connection.ts';
import { newId } from '../src/crypto/random.ts';
import { arg } from './args.ts';

const ROUNDS = arg('rounds', 7, { integer: true });
const OPS = arg('ops', 2000, { integer: true });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function setUp(databaseUrl: string | undefined): Promise<{ ctx: AppContext; orgId: string; id: string; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'plugboard-bench-'));
  const config = loadConfig({}, { dataDir: dir, logLevel: 'silent', sandbox: { enabled: false }, ...(databaseUrl === undefined ? {} : { databaseUrl, masterKey: randomBytes(32).toString('base64') }) });
  const ctx = await createContext(config);
  const orgId = newId();
  const now = new Date().toISOString();
  await ctx.store.db.insertInto('organizations').values({ id: orgId, name: 'bench', secret_lookup: newId(), secret_hash: 'x', created_at: now }).execute();
  const id = newId();
  await insertConnection(ctx.store.db, ctx.vault, orgId, {
    id, elementKey: 'sandbox', name: 'bench', externalUserId: null, configuration: {}, baseUrl: null, authType: 'oauth2_authorization_code',
    state: initialState(true), tokenLookup: randomBytes(6).toString('hex'), tokenHash: 'x', tokenType: 'bearer',
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(), scope: null, clientId: null, tags: [], lastAuthenticatedAt: now, now,
  }, { access_token: 'bench-access-token', refresh_token: 'bench-refresh-token' });
  return { ctx, orgId, id, dir };
}

type Variant = 'baseline' | 'fresh token' | 'lock';
const VARIANTS: Variant[] = ['baseline', 'fresh token', 'lock'];

async function runVariant(variant: Variant, ctx: AppContext, orgId: string, id: string): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    if (variant === 'baseline') {
      const row = await ctx.store.db.selectFrom('connections').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirstOrThrow();
      if (openSecret(ctx.vault, row, 'access_token') === null) throw new Error('no token');
    } else if (variant === 'fresh token') {
      await getFreshAccessToken(ctx, orgId, id);
    } else {
      await withConnectionLock(ctx, orgId, id, async () => undefined);
    }
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / OPS;
}

async function bench(label: string, databaseUrl: string | undefined): Promise<Record<string, number>> {
  const { ctx, orgId, id, dir } = await setUp(databaseUrl);
  const perOp: Record<Variant, number[]> = { baseline: [], 'fresh token': [], lock: [] };
  try {
    for (const variant of VARIANTS) await runVariant(variant, ctx, orgId, id);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const variant of order) perOp[variant].push(await runVariant(variant, ctx, orgId, id));
    }
  } finally {
    await ctx.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = median(perOp.baseline);
  const result = {
    baselineUs: base,
    freshTokenUs: median(perOp['fresh token']),
    lockUs: median(perOp.lock),
    freshTokenRatio: median(perOp['fresh token']) / base,
    lockRatio: median(perOp.lock) / base,
  };
  if (!process.argv.includes('--json')) {
    process.stdout.write(`${label}: baseline ${result.baselineUs.toFixed(1)} us/op, fresh token ${result.freshTokenUs.toFixed(1)} us/op (${result.freshTokenRatio.toFixed(2)}x), lock ${result.lockUs.toFixed(1)} us/op (${result.lockRatio.toFixed(2)}x)\n`);
  }
  return result;
}

/** A fresh PostgreSQL database for the run (dropped afterwards), so the bench never touches existing data. */
async function withFreshDatabase<T>(serverUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `plugboard_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return await fn(url.href);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const results: Record<string, Record<string, number>> = { sqlite: await bench('sqlite', undefined) };
const pgUrl = process.env.PLUGBOARD_BENCH_DATABASE_URL;
if (pgUrl !== undefined && pgUrl !== '') results.postgres = await withFreshDatabase(pgUrl, (url) => bench('postgres', url));
if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ rounds: ROUNDS, ops: OPS, results }, null, 2)}\n`);

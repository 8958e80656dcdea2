/**
 * A separate Plugboard process for the refresh race test: opens the same store as the test's app and asks for a
 * fresh access token `PB_CALLS` times at once, starting at the instant `PB_START_AT` (so two workers collide), then
 * prints the tokens it got as one JSON line. Configuration comes in environment variables from the test.
 */
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { getFreshAccessToken } from '../../src/auth/tokens.ts';

const env = process.env;
const config = loadConfig({}, {
  dataDir: env.PB_DATA_DIR as string,
  logLevel: 'silent',
  sandbox: { enabled: false },
  ...(env.PB_DATABASE_URL ? { databaseUrl: env.PB_DATABASE_URL, masterKey: env.PB_MASTER_KEY as string } : {}),
});
const ctx = await createContext(config);
try {
  const delay = Number(env.PB_START_AT) - Date.now();
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const calls = Number(env.PB_CALLS ?? '4');
  const results = await Promise.allSettled(Array.from({ length: calls }, () => getFreshAccessToken(ctx, env.PB_ORG_ID as string, env.PB_INSTANCE_ID as string)));
  const out = results.map((r) => (r.status === 'fulfilled' ? { token: r.value.accessToken, refreshed: r.value.refreshed } : { error: (r.reason as Error).message }));
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await ctx.store.close();
}

/**
 * A second Plugboard process for the proxy concurrency test: starts the real app (HTTP server and services) on the
 * store the test's app uses, prints its URL as one JSON line, and runs until its stdin closes. Configuration comes in
 * environment variables from the test.
 */
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../../src/app.ts';

const env = process.env;
const config = loadConfig({}, {
  port: 0,
  host: '127.0.0.1',
  dataDir: env.PB_DATA_DIR as string,
  logLevel: 'silent',
  sandbox: { enabled: false },
  webDir: `${env.PB_DATA_DIR as string}/no-console`,
  health: { enabled: false, intervalMs: 300_000, idleMs: 3_600_000, refreshFailureLimit: 5 },
  ...(env.PB_DATABASE_URL ? { databaseUrl: env.PB_DATABASE_URL, masterKey: env.PB_MASTER_KEY as string } : {}),
});
const running = await startApp(config, { writeCredentialsFile: false });
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void running.close().then(() => process.exit(0));
});

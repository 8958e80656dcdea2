/**
 * `plugboard start` as a real process: the first start prints the admin credentials once and writes them to the data
 * folder, a second start does not print them, the server answers, and SIGTERM shuts down gracefully (exit code 0,
 * "stopped" logged last).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { tempDir } from '../../test/support/database.ts';
import { parseCredentialsFile } from '../bootstrap.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Started { output: () => string; url: string; stop(signal: NodeJS.Signals): Promise<number | null> }

/** Servers still running when the tests end (an assertion failed before `stop`): a live child keeps the file open. */
const running = new Set<ReturnType<typeof spawn>>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

function start(dataDir: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'start', '--port', '0', '--no-sandbox', '--data-dir', dataDir, '--log-level', 'info'], {
      env: { PATH: process.env.PATH ?? '', PLUGBOARD_WEB_DIR: path.join(dataDir, 'no-console') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready in time:\n${out}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /"url":"(http:\/\/127\.0\.0\.1:\d+)","docs"/.exec(out);
      if (ready !== null) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
        resolve({
          output: () => out,
          url: ready[1],
          stop: (signal) => new Promise((done) => { child.once('exit', (code) => done(code)); child.kill(signal); }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code}:\n${out}`)); });
  });
}

test('first start prints and stores the admin credentials once; SIGTERM stops gracefully', async () => {
  const dataDir = tempDir();
  const first = await start(dataDir);
  const credentials = parseCredentialsFile(readFileSync(path.join(dataDir, 'admin-credentials'), 'utf8'));
  assert.match(credentials.PLUGBOARD_API_KEY, /^pb_/);
  assert.ok(first.output().includes(`API key:              ${credentials.PLUGBOARD_API_KEY}`));
  const res = await request(`${first.url}/api-keys`, { headers: { authorization: `Bearer ${credentials.PLUGBOARD_API_KEY}` } });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  assert.equal(await first.stop('SIGTERM'), 0);
  assert.match(first.output(), /"msg":"stopped"/);
  const logLines = first.output().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(!logLines.some((l) => l.includes(credentials.PLUGBOARD_API_KEY)), 'the key is printed, never logged');

  const second = await start(dataDir);
  assert.ok(!second.output().includes('API key:'), 'credentials are shown only on the first start');
  assert.equal(await second.stop('SIGINT'), 0);
});

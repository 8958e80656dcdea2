/**
 * `plugboard erasure` against a running app: the bad-flag errors first (no subject, two subjects, bad timeout), then a
 * request followed to completion with the progress on stderr and the receipt as a table, and `--json`, `show`, `list`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startRevocationFixture, seedConnection, type RevocationFixture } from './support.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('plugboard erasure', () => {
  let f: RevocationFixture;
  before(async () => {
    f = await startRevocationFixture();
  });
  after(async () => {
    await f.close();
  });

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [MAIN, 'erasure', ...args, '--url', f.app.url, '--api-key', f.app.apiKey], { timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  test('refuses a request without a subject, with two, or with a bad timeout', async () => {
    const none = await cli('request');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /exactly one subject/);
    const two = await cli('request', '--external-user', 'a', '--tag', 'b');
    assert.equal(two.code, 1);
    const timeout = await cli('request', '--external-user', 'a', '--timeout', 'soon');
    assert.equal(timeout.code, 1);
    assert.match(timeout.stderr, /--timeout/);
    const empty = await cli('request', '--instances', ' , ');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /--instances is empty/);
  });

  test('show of an unknown request reports the 404', async () => {
    const res = await cli('show', 'nope');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /No erasure request nope/);
  });

  test('request follows the erasure to the end and prints the receipt table', async () => {
    const a = await seedConnection(f, { externalUserId: 'cli-person' });
    const b = await seedConnection(f, { externalUserId: 'cli-person' });
    const res = await cli('request', '--external-user', 'cli-person');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /revocations ended/);
    assert.match(res.stdout, /instance\s+connector\s+revoked\s+verified/);
    assert.ok(res.stdout.includes(a.id) && res.stdout.includes(b.id));
    assert.match(res.stdout, /completed\. 2 connections, 2 revoked \(2 verified\)/);
  });

  test('--json prints the receipt; show and list find it', async () => {
    await seedConnection(f, { externalUserId: 'cli-json' });
    const res = await cli('request', '--external-user', 'cli-json', '--json');
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '', 'no progress output with --json');
    const receipt = JSON.parse(res.stdout);
    assert.equal(receipt.status, 'completed');
    assert.equal(receipt.connections.length, 1);
    const shown = JSON.parse((await cli('show', receipt.id, '--json')).stdout);
    assert.equal(shown.id, receipt.id);
    const listed = await cli('list');
    assert.equal(listed.code, 0);
    assert.ok(listed.stdout.includes(receipt.id));
  });
});

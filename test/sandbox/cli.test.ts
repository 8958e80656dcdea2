/**
 * `plugboard sandbox`: running the sandbox alone (a child process stopped by SIGTERM), and the admin commands
 * (`fault set|clear|list`, `counters`) against a running sandbox, in human and `--json` form, with their errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { faultFromFlags, register } from '../../src/cli/commands/sandbox.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { call } from './oauth-client.ts';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox();
});
after(() => sb.close());
afterEach(() => {
  process.exitCode = 0;
});

/** Run one CLI invocation in-process, capturing its output through commander's output configuration. */
async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const program = new Command('plugboard').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  register(program);
  process.exitCode = 0;
  let code = 0;
  try {
    await program.parseAsync(['node', 'plugboard', 'sandbox', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  }
  process.exitCode = 0;
  return { out, err, code };
}

describe('fault and counters commands', () => {
  it('fault set, list and clear round-trip through the admin API', async () => {
    const set = await cli('fault', 'set', 'revoke', '--status', '503', '--every', '2', '--url', sb.url);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /revoke\s+HTTP 503 \(one call in 2\)/);
    assert.deepEqual(sb.admin.faults().map((f) => [f.endpoint, f.status, f.everyNth]), [['revoke', 503, 2]]);
    const json = await cli('fault', 'set', 'token', '--rate-limit', '--retry-after', '3', '--json', '--url', sb.url);
    assert.equal(JSON.parse(json.out).retryAfter, 3);
    const list = await cli('fault', 'list', '--json', '--url', sb.url);
    assert.equal(JSON.parse(list.out).faults.length, 2);
    assert.equal((await cli('fault', 'clear', 'token', '--url', sb.url)).code, 0);
    assert.deepEqual(sb.admin.faults().map((f) => f.endpoint), ['revoke']);
    assert.match((await cli('fault', 'clear', '--url', sb.url)).out, /cleared all faults/);
    assert.match((await cli('fault', 'list', '--url', sb.url)).out, /no faults/);
  });

  it('counters shows per endpoint and client, and resets', async () => {
    sb.admin.resetCounters();
    await call(`${sb.url}/api/ping`);
    const human = await cli('counters', '--url', sb.url);
    assert.match(human.out, /api\s+1\s+401:1/);
    const json = await cli('counters', '--json', '--url', sb.url);
    assert.equal(JSON.parse(json.out).counters.api.calls, 1);
    assert.equal((await cli('counters', '--reset', '--url', sb.url)).code, 0);
    assert.equal(sb.admin.count('api'), 0);
  });

  it('reports bad input and unreachable sandboxes with exit code 1', async () => {
    const twoKinds = await cli('fault', 'set', 'token', '--reset', '--hang', '--url', sb.url);
    assert.equal(twoKinds.code, 1);
    assert.match(twoKinds.err, /choose one fault kind/);
    const badEndpoint = await cli('fault', 'set', 'nowhere', '--reset', '--url', sb.url);
    assert.match(badEndpoint.err, /endpoint must be one of/);
    const badStatus = await cli('fault', 'set', 'api', '--status', '99', '--url', sb.url);
    assert.notEqual(badStatus.code, 0);
    const down = await cli('counters', '--url', 'http://127.0.0.1:1');
    assert.equal(down.code, 1);
    assert.match(down.err, /cannot reach the sandbox/);
  });

  it('passes the admin token, and explains a 401', async () => {
    const guarded = await startSandbox({ adminToken: 'cli-token' });
    try {
      const denied = await cli('fault', 'list', '--url', guarded.url);
      assert.match(denied.err, /HTTP 401.*--admin-token/);
      const ok = await cli('fault', 'list', '--url', guarded.url, '--admin-token', 'cli-token');
      assert.equal(ok.code, 0, ok.err);
    } finally {
      await guarded.close();
    }
  });
});

describe('faultFromFlags', () => {
  it('maps flags to one fault kind', () => {
    assert.deepEqual(faultFromFlags({ url: '', status: 502 }), { kind: 'status', status: 502 });
    assert.deepEqual(faultFromFlags({ url: '', latency: 200 }), { kind: 'latency', latencyMs: 200 });
    assert.deepEqual(faultFromFlags({ url: '', hang: true, latency: 50, times: 1 }), { kind: 'hang', latencyMs: 50, times: 1 });
    assert.throws(() => faultFromFlags({ url: '' }), /choose a fault/);
    assert.throws(() => faultFromFlags({ url: '', reset: true, retryAfter: 2 }), /--retry-after goes with --rate-limit/);
  });
});

describe('plugboard sandbox (run alone)', () => {
  it('serves until SIGTERM, then exits cleanly', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const command = new URL('../../src/cli/commands/sandbox.ts', import.meta.url).href;
    const script =
      `import { Command } from 'commander'; import { register } from '${command}';` +
      `const p = new Command('plugboard'); register(p); await p.parseAsync(['node', 'plugboard', 'sandbox', '--port', '0', '--json']);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(buf.split('\n')[0]);
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
        setTimeout(() => reject(new Error('no start-up line within 10 s')), 10_000).unref();
      });
      const { url, adminTokenRequired } = JSON.parse(line);
      assert.equal(adminTokenRequired, false);
      assert.equal((await call(`${url}/.well-known/oauth-authorization-server`)).json().issuer, url);
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

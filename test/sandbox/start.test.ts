/**
 * `startSandbox()` options: seeds, added and replaced clients and users, lifetimes, and the refusals (bad port, port in
 * use, invalid client) that must fail the start with a clear error instead of a half-started sandbox.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CLIENT, REVOKE_STYLE_NAMES, SandboxInputError, startSandbox } from '../../src/sandbox/index.ts';

describe('startSandbox', () => {
  it('seeds the demo, rotating and public clients, one client per revoke style, and three users', async () => {
    const sb = await startSandbox();
    try {
      const ids = sb.admin.listClients().map((c) => c.id);
      for (const id of [DEFAULT_CLIENT.id, 'plugboard-rotating', 'plugboard-public', ...REVOKE_STYLE_NAMES.map((s) => `sandbox-${s}`)]) assert.ok(ids.includes(id), id);
      assert.equal(sb.admin.getClient(DEFAULT_CLIENT.id).secret, DEFAULT_CLIENT.secret);
      assert.deepEqual(sb.admin.listUsers().map((u) => u.username), ['alice', 'bob', 'carol']);
      assert.equal(sb.host, '127.0.0.1');
      assert.equal(sb.url, `http://127.0.0.1:${sb.port}`);
      assert.equal(sb.issuer, sb.url);
    } finally {
      await sb.close();
    }
  });

  it('adds clients and users, replaces a seed by id, or starts empty', async () => {
    const sb = await startSandbox({
      clients: [{ id: DEFAULT_CLIENT.id, secret: 'other', revokeStyle: 'google' }, { id: 'extra', secret: null }],
      users: [{ username: 'erin' }],
    });
    try {
      assert.equal(sb.admin.getClient(DEFAULT_CLIENT.id).revokeStyle, 'google');
      assert.equal(sb.admin.getClient(DEFAULT_CLIENT.id).secret, 'other');
      assert.equal(sb.admin.getClient('extra').secret, null);
      assert.ok(sb.admin.listUsers().some((u) => u.id === 'user-erin'));
    } finally {
      await sb.close();
    }
    const empty = await startSandbox({ noSeed: true });
    try {
      assert.deepEqual(empty.admin.listClients(), []);
      assert.deepEqual(empty.admin.listUsers(), []);
    } finally {
      await empty.close();
    }
  });

  it('applies default lifetimes and lets settings change them', async () => {
    const sb = await startSandbox({ accessTokenTtl: 120, refreshTokenTtl: 0 });
    try {
      const t = sb.admin.issueTokens({ clientId: DEFAULT_CLIENT.id });
      assert.equal(t.expires_in, 120);
      assert.equal(sb.admin.tokenState(t.refresh_token ?? '').expiresAt, null, '0 means the refresh token never expires');
      sb.admin.updateSettings({ accessTokenTtl: 60 });
      assert.equal(sb.admin.issueTokens({ clientId: DEFAULT_CLIENT.id }).expires_in, 60);
    } finally {
      await sb.close();
    }
  });

  it('refuses a bad port, a port in use and an invalid client', async () => {
    await assert.rejects(startSandbox({ port: 70000 }), RangeError);
    await assert.rejects(startSandbox({ port: -1 }), RangeError);
    const first = await startSandbox();
    try {
      await assert.rejects(startSandbox({ port: first.port }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    } finally {
      await first.close();
    }
    await assert.rejects(startSandbox({ clients: [{ id: 'bad id with spaces' }] }), (err: unknown) => err instanceof SandboxInputError && err.path === 'id');
    await assert.rejects(startSandbox({ clients: [{ id: 'x', revokeStyle: 'telepathy' as never }] }), (err: unknown) => err instanceof SandboxInputError && err.path === 'revokeStyle');
    await assert.rejects(startSandbox({ users: [{ username: 'alice' }] }), (err: unknown) => err instanceof SandboxInputError && err.status === 409);
  });

  it('close() is idempotent', async () => {
    const sb = await startSandbox();
    await Promise.all([sb.close(), sb.close()]);
    await sb.close();
  });
});

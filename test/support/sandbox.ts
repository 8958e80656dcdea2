/**
 * The sandbox provider for tests: started in-process on an ephemeral loopback port with consent auto-approved, and a
 * helper that starts it beside a full test app, so a test can connect, refresh and revoke against a real OAuth
 * server without any network.
 */
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts';
import { startTestApp, type StartTestAppOptions, type TestApp } from './app.ts';

export async function startTestSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ port: 0, host: '127.0.0.1', autoApprove: true, ...options });
}

export interface TestAppWithSandbox {
  app: TestApp;
  sandbox: Sandbox;
  close(): Promise<void>;
}

export async function startTestAppWithSandbox(options: StartTestAppOptions & { sandbox?: SandboxOptions } = {}): Promise<TestAppWithSandbox> {
  const sandbox = await startTestSandbox(options.sandbox);
  let app: TestApp;
  try {
    app = await startTestApp(options);
  } catch (error) {
    await sandbox.close();
    throw error;
  }
  return {
    app,
    sandbox,
    async close() {
      await app.close();
      await sandbox.close();
    },
  };
}

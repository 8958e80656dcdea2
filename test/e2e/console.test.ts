/**
 * The web console in a real browser: Debian's chromium driven by playwright-core (headless, fresh user-data-dir, no
 * network beyond loopback) against a complete in-process Plugboard (the test harness) and the sandbox provider. The
 * journey is the one a connector builder takes: sign in (a wrong key first), set the OAuth app, deny consent once,
 * connect through the sandbox in a popup, authping, test revoke (the provider really revokes), reauthorize in place,
 * rename, disable and enable, read the events timeline, delete (cancel first, then confirm) with the revocation
 * outcome, connect again by redirect, erase that person and read the receipt, add a webhook and read its delivery
 * log, connect an API-key connector through its generated form, and end with a read-only and then a revoked key. Each page is saved as a screenshot under
 * `test-results/console/` (not committed). Secrets (the API key, the OAuth client secret, the connection's tokens)
 * must never appear in any page. Skipped, saying why, when chromium is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { chromium } from 'playwright-core';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { ensureWebBuilt } from '../../scripts/build-web.ts';
import { startTestApp } from '../support/app.ts';
import { cleanupStack } from '../support/cleanup.ts';
import type { TestApp } from '../support/app.ts';
import { DEFAULT_CLIENT, startSandbox } from '../../src/sandbox/index.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { KNOWN_EVENT_TYPES } from '../../src/core/events.ts';

const CHROMIUM = process.env.PLUGBOARD_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB_DIST = join(ROOT, 'web', 'dist');
const SHOTS = join(ROOT, 'test-results', 'console');
/** Set to 1 to refresh the screenshots committed under docs/screenshots/ from this run. */
const UPDATE_DOCS = process.env.PLUGBOARD_UPDATE_SCREENSHOTS === '1';
const DOC_SHOTS: Record<string, string> = {
  '03-connector': 'connector.png',
  '06-authping-and-revoke': 'test-connections.png',
  '08-connection-events': 'connection-events.png',
  '12-erasure-receipt': 'erasure-receipt.png',
  '15-test-connections-phone': 'test-connections-phone.png',
};
const CONNECTOR_KEY = 'sandbox-console';

const skip = existsSync(CHROMIUM)
  ? false
  : `chromium is not installed at ${CHROMIUM}; install it with \`apt-get install -y chromium\` (.ci/run does) or set PLUGBOARD_CHROMIUM`;

/** A free loopback port, so the app can be told its own public URL (the hosted OAuth callback is built from it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The built-in sandbox connector, moved to the test's sandbox and deployed under its own key. */
function sandboxConnector(sandbox: Sandbox): Record<string, unknown> {
  const text = readFileSync(join(ROOT, 'connectors', 'sandbox.yaml'), 'utf8').replaceAll('http://127.0.0.1:8081', sandbox.url);
  const definition = parse(text) as Record<string, unknown>;
  delete definition.$schema;
  definition.key = CONNECTOR_KEY;
  definition.name = 'Sandbox Console';
  return definition;
}

/** A webhook receiver on loopback that answers 204 and remembers what it got. */
async function startReceiver(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let shotCount = 0;
async function screenshot(page: Page, name: string): Promise<void> {
  shotCount += 1;
  const file = join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const docName = DOC_SHOTS[name];
  if (UPDATE_DOCS && docName !== undefined) copyFileSync(file, join(ROOT, 'docs', 'screenshots', docName));
}

/** Fails when any of the secrets appears in the page's HTML (text, attributes, values) or its URL. */
async function assertNoSecrets(page: Page, secrets: string[], where: string): Promise<void> {
  const html = await page.content();
  const inputValues = await page.locator('input').evaluateAll((inputs) => inputs.map((input) => (input as HTMLInputElement).value));
  for (const secret of secrets) {
    assert.equal(html.includes(secret), false, `a secret appears in the page HTML on ${where}`);
    assert.equal(page.url().includes(secret), false, `a secret appears in the URL on ${where}`);
    assert.equal(inputValues.some((value) => value.includes(secret)), false, `a secret is left in an input on ${where}`);
  }
}

function connectionCard(page: Page, name: string): Locator {
  return page.locator('li.connection-card', { has: page.getByRole('heading', { name, exact: true }) });
}

/** The status badge in a connection card's heading row. */
function statusBadge(card: Locator): Locator {
  return card.locator('.connection-head .badge');
}

function navLink(page: Page, name: string): Locator {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/** Clicks `trigger`, follows the OAuth popup it opens through the sandbox and back, and waits for it to close. */
async function throughPopup(page: Page, trigger: () => Promise<void>): Promise<void> {
  const popupPromise = page.waitForEvent('popup');
  await trigger();
  const popup = await popupPromise;
  await popup.waitForEvent('close', { timeout: 15_000 });
}

test('console journey in chromium: sign in, connect, authping, test revoke, reauthorize, delete, erasure, webhooks', { skip, timeout: 180_000 }, async (t) => {
  await ensureWebBuilt();
  mkdirSync(SHOTS, { recursive: true });
  // Last in, first out, each step even if one before it failed: the browser closes before its folder is removed.
  const cleanup = cleanupStack(t);
  const sandbox = await startSandbox({ autoApprove: true });
  cleanup(() => sandbox.close());
  const port = await freePort();
  const app: TestApp = await startTestApp({
    config: { port, publicUrl: `http://127.0.0.1:${port}`, webDir: WEB_DIST, webhooks: { allowPrivateTargets: true } },
  });
  cleanup(() => app.close());
  const receiver = await startReceiver();
  cleanup(() => receiver.close());

  const deployed = await app.call('POST', '/elements', { body: sandboxConnector(sandbox) });
  assert.ok(deployed.status === 200 || deployed.status === 201, `deploying the test connector: ${deployed.text}`);

  const userDataDir = mkdtempSync(join(tmpdir(), 'plugboard-chromium-'));
  cleanup(() => rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 }));
  const context: BrowserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  cleanup(() => context.close());
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const secrets = [app.apiKey, DEFAULT_CLIENT.secret];

  await t.test('sign in: a wrong key is refused with the error code and request id, the admin key works', async () => {
    await page.goto(`${app.url}/`);
    await page.getByLabel('API key').fill('pb_not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText('UNAUTHENTICATED').waitFor();
    assert.match(await alert.innerText(), /Request id/);
    await screenshot(page, '01-sign-in-refused');
    await page.getByLabel('API key').fill(app.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connectors', level: 1 }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 1, 'the key is kept in sessionStorage');
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing is kept in localStorage');
    await assertNoSecrets(page, secrets, 'the connectors page');
  });

  await t.test('connectors: the list shows the deployed connector and its revocation style', async () => {
    const card = page.locator('li.connector-card', { has: page.getByRole('link', { name: 'Sandbox Console', exact: true }) });
    await card.waitFor();
    assert.match(await card.innerText(), /Custom _revoke flow/);
    assert.match(await card.innerText(), /OAuth app\s*not set/);
    await screenshot(page, '02-connectors');
    await page.getByLabel('Search').fill('SANDBOX console');
    await page.getByText(/^Showing 1 of \d+ connectors\.$/).waitFor();
    await page.getByLabel('Revokes by').selectOption('manual');
    await page.getByText('No connector matches these filters.').waitFor();
    await page.getByLabel('Revokes by').selectOption('flow');
    await card.waitFor();
    await page.getByLabel('Search').fill('');
  });

  await t.test('connector: auth settings, flows as card lists, and the OAuth app saved without showing its secret', async () => {
    await page.getByRole('link', { name: 'Sandbox Console', exact: true }).click();
    await page.getByRole('heading', { name: 'Sandbox Console', level: 1 }).waitFor();
    await page.getByRole('list', { name: 'Cards of _revoke' }).first().waitFor();
    assert.match(await page.locator('main').innerText(), /If Error/);
    assert.match(await page.locator('main').innerText(), /calls httpHelper/);
    await page.getByLabel('Client id').fill(DEFAULT_CLIENT.id);
    await page.getByLabel('Client secret').fill(DEFAULT_CLIENT.secret);
    await page.getByRole('button', { name: 'Save OAuth app' }).click();
    await page.getByText('OAuth app saved.').waitFor();
    await page.getByText(`client id ${DEFAULT_CLIENT.id}`, { exact: false }).waitFor();
    await assertNoSecrets(page, secrets, 'the connector page');
    await screenshot(page, '03-connector');
  });

  await t.test('test connections: consent denied in the popup shows the callback error and creates nothing', async () => {
    await page.getByRole('link', { name: 'Test connections' }).click();
    await page.getByRole('heading', { name: 'Test connections: Sandbox Console' }).waitFor();
    sandbox.admin.updateSettings({ autoApprove: false });
    try {
      await page.getByRole('button', { name: '+ New Connection' }).click();
      await page.getByLabel('Name').fill('Denied');
      const popupPromise = page.waitForEvent('popup');
      await page.getByRole('button', { name: 'Connect with Sandbox Console' }).click();
      const popup = await popupPromise;
      await popup.getByRole('button', { name: 'Deny' }).click();
      await popup.waitForEvent('close', { timeout: 15_000 });
    } finally {
      sandbox.admin.updateSettings({ autoApprove: true });
    }
    const alert = page.getByRole('alert');
    await alert.getByText('Could not create the connection').waitFor();
    assert.match(await alert.innerText(), /OAUTH_ERROR/);
    assert.match(await alert.innerText(), /access_denied/);
    const listed = await app.call('GET', `/instances?element=${CONNECTOR_KEY}`);
    assert.equal(listed.body.instances.length, 0, 'a denied consent creates no connection');
    await screenshot(page, '04a-consent-denied');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  let instanceId = '';
  await t.test('test connections: + New Connection through the OAuth popup creates an active connection', async () => {
    await page.getByText('No connections to Sandbox Console yet').waitFor();
    await page.getByRole('button', { name: '+ New Connection' }).click();
    await page.getByLabel('Name').fill('Alice files');
    await page.getByLabel('External user id').fill('alice-1');
    await page.getByLabel('Tags').fill('e2e, console');
    await screenshot(page, '04-new-connection');
    await throughPopup(page, () => page.getByRole('button', { name: 'Connect with Sandbox Console' }).click());
    await page.getByText(/Connected: connection/).waitFor();
    const card = connectionCard(page, 'Alice files');
    await statusBadge(card).getByText('Active', { exact: true }).waitFor();
    instanceId = (await card.getAttribute('data-instance-id')) ?? '';
    assert.notEqual(instanceId, '');
    const listed = await app.call('GET', `/instances/${instanceId}`);
    assert.equal(listed.body.externalUserId, 'alice-1');
    assert.deepEqual([...listed.body.tags].sort(), ['console', 'e2e']);
    await screenshot(page, '05-connected');
  });

  await t.test('test authping and test revoke show their results; the provider really revoked the token', async () => {
    const credentials = await app.call('GET', `/instances/${instanceId}/credentials`);
    assert.equal(credentials.status, 200, credentials.text);
    const accessToken = String(credentials.body.accessToken);
    secrets.push(accessToken);
    const card = connectionCard(page, 'Alice files');
    await card.getByRole('button', { name: 'Test authping' }).click();
    const authping = card.getByTestId('authping-result');
    await authping.getByText('working', { exact: true }).waitFor();
    await authping.getByText('The sandbox answered HTTP 200').waitFor();
    await authping.getByTestId('service-status').getByText('200').waitFor();
    await authping.getByText('Service response body').waitFor();

    const revokesBefore = sandbox.admin.count('revoke');
    await card.getByRole('button', { name: 'Test revoke' }).click();
    const revoke = card.getByTestId('revoke-result');
    await revoke.getByText('revoked', { exact: true }).waitFor();
    await revoke.getByTestId('service-status').getByText('200').waitFor();
    // Seed 000's recipe: the success text travels as the service response body. The connector's manual-step text
    // also comes back, but the provider revoked, so it is not shown: a success line and a quiet link to check by hand.
    await revoke.getByText('The access token was successfully revoked.').waitFor();
    await revoke.getByText(/^The provider revoked the access/).waitFor();
    assert.equal(await revoke.getByText(/remove the app by hand|unable to completely revoke/i).count(), 0, 'no manual step after a revocation');
    assert.equal(await revoke.getByText(/Manual step/).count(), 0);
    const check = revoke.locator('.revoke-check');
    await check.getByText(/^Check by hand/).waitFor();
    const link = check.getByRole('link', { name: new RegExp(`^${sandbox.url}`) });
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await link.getAttribute('target'), '_blank');
    await statusBadge(card).getByText('Revoked', { exact: true }).waitFor();
    assert.ok(sandbox.admin.count('revoke') > revokesBefore, 'the revoke request reached the provider');
    assert.equal(sandbox.admin.tokenState(accessToken).state === 'active', false, 'the access token no longer works at the provider');
    await assertNoSecrets(page, secrets, 'the test connections page after authping and revoke');
    await screenshot(page, '06-authping-and-revoke');
  });

  await t.test('reauthorize brings the revoked connection back in place (same id)', async () => {
    const card = connectionCard(page, 'Alice files');
    await throughPopup(page, () => card.getByRole('button', { name: 'Reauthorize' }).click());
    await card.getByText(/Re-authenticated in place/).waitFor();
    await statusBadge(card).getByText('Active', { exact: true }).waitFor();
    assert.equal(await card.getAttribute('data-instance-id'), instanceId);
    await screenshot(page, '07-reauthorized');
  });

  await t.test('rename, then the connection page shows details and the events timeline', async () => {
    const card = connectionCard(page, 'Alice files');
    await card.getByRole('button', { name: 'Rename' }).click();
    await card.getByLabel('New name').fill('Alice files (renamed)');
    await card.getByRole('button', { name: 'Save name' }).click();
    const renamed = connectionCard(page, 'Alice files (renamed)');
    await renamed.waitFor();
    await renamed.getByRole('link', { name: 'Alice files (renamed)' }).click();
    await page.getByRole('heading', { name: 'Alice files (renamed)', level: 1 }).waitFor();
    const timeline = page.getByRole('list', { name: 'Event timeline' });
    await timeline.getByText('instance.revoked').waitFor();
    await timeline.getByText('instance.reauthenticated').waitFor();
    await timeline.getByText('instance.created').waitFor();
    const header = page.locator('.page-header');
    await header.getByRole('button', { name: 'Disable' }).click();
    await header.getByText('Disabled', { exact: true }).waitFor();
    await timeline.getByText('instance.disabled').waitFor();
    await header.getByRole('button', { name: 'Enable' }).click();
    await header.getByText('Active', { exact: true }).waitFor();
    await assertNoSecrets(page, secrets, 'the connection page');
    await screenshot(page, '08-connection-events');
  });

  await t.test('connections list: status badge and filters', async () => {
    await navLink(page, 'Connections').click();
    await page.getByRole('heading', { name: 'Connections', level: 1 }).waitFor();
    const row = page.getByRole('row', { name: /Alice files \(renamed\)/ });
    await row.getByText('Active', { exact: true }).waitFor();
    await page.getByLabel('Status').selectOption('revoked');
    await page.getByText('No connection matches these filters.').waitFor();
    await page.getByLabel('Status').selectOption('active');
    await row.waitFor();
    await page.getByLabel('External user').fill('nobody-here');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No connection matches these filters.').waitFor();
    await page.getByLabel('External user').fill('alice-1');
    await page.getByRole('button', { name: 'Apply' }).click();
    await row.waitFor();
    await screenshot(page, '09-connections');
  });

  await t.test('delete asks first; cancel keeps the connection, confirm revokes and deletes it', async () => {
    await page.goto(`${app.url}/#/connectors/${CONNECTOR_KEY}/test`);
    const card = connectionCard(page, 'Alice files (renamed)');
    await card.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete “Alice files (renamed)”?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await app.call('GET', `/instances/${instanceId}`)).status, 200, 'cancel deletes nothing');
    await card.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete and revoke' }).click();
    const outcome = page.getByTestId('revoke-result').first();
    await page.getByRole('heading', { name: 'Deleted “Alice files (renamed)”' }).waitFor();
    await outcome.getByText('revoked', { exact: true }).waitFor();
    await outcome.getByText(/^The provider revoked the access/).waitFor();
    assert.equal(await outcome.locator('.revoke-manual').count(), 0, 'a revoked delete shows no manual step');
    await page.getByText('No connections to Sandbox Console yet').waitFor();
    assert.equal((await app.call('GET', `/instances/${instanceId}`)).status, 404);
    await screenshot(page, '10-deleted');
  });

  let erasedId = '';
  await t.test('a second connection by redirect, then an erasure request for its person with a receipt', async () => {
    await page.getByRole('button', { name: '+ New Connection' }).click();
    await page.getByLabel('Name').fill('Bob calendar');
    await page.getByLabel('External user id').fill('bob-2');
    await page.getByLabel('Redirect this tab').check();
    await page.getByRole('button', { name: 'Connect with Sandbox Console' }).click();
    await page.getByText(/Connected: connection/).waitFor();
    const card = connectionCard(page, 'Bob calendar');
    await card.waitFor();
    erasedId = (await card.getAttribute('data-instance-id')) ?? '';
    assert.equal(new URL(page.url()).search, '', 'the callback report is removed from the address bar');

    await navLink(page, 'Erasure requests').click();
    await page.getByRole('heading', { name: 'Erasure requests', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Start erasure' }).click();
    await page.getByRole('alert').getByText('Enter who or what to erase first.').waitFor();
    await screenshot(page, '11-erasure-requests');
    await page.getByRole('textbox', { name: 'External user id' }).fill('bob-2');
    await page.getByRole('button', { name: 'Start erasure' }).click();
    await page.getByRole('heading', { name: 'Erasure receipt' }).waitFor();
    await page.getByTestId('erasure-status').getByText(/^completed/).waitFor({ timeout: 30_000 });
    const row = page.getByRole('row', { name: new RegExp(erasedId) });
    await row.getByText('revoked', { exact: true }).waitFor();
    assert.match(await page.locator('main').innerText(), /external user bob-2/);
    assert.equal((await app.call('GET', `/instances/${erasedId}`)).status, 404, 'the erased connection is gone');
    await screenshot(page, '12-erasure-receipt');
  });

  await t.test('webhooks: add, test delivery, delivery log; the signing secret is never rendered', async () => {
    await navLink(page, 'Webhooks').click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    const offered = await page.locator('fieldset.checkboxes label').allInnerTexts();
    assert.deepEqual(offered.map((text) => text.trim()), [...KNOWN_EVENT_TYPES], 'the form offers exactly the event types POST /webhooks accepts');
    await page.getByLabel('instance.revoked').check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('button', { name: 'Copy signing secret' }).waitFor();
    const listed = await app.call('GET', '/webhooks');
    assert.equal(listed.body.webhooks.length, 1);
    const card = page.locator('li', { has: page.getByText(receiver.url) }).last();
    await card.getByRole('button', { name: 'Send test' }).click();
    await card.getByText(/Test delivery .* queued/).waitFor();
    const log = card.getByRole('table');
    for (let attempt = 0; attempt < 40 && receiver.bodies.length === 0; attempt += 1) await page.waitForTimeout(250);
    assert.ok(receiver.bodies.length > 0, 'the receiver got the test delivery');
    await card.getByRole('button', { name: 'Refresh' }).click();
    await log.getByText('succeeded').waitFor();
    await screenshot(page, '13-webhooks');
  });

  await t.test('an API-key connector: the form comes from its auth field, the key is never shown, delete reports the manual step', async () => {
    const definition = {
      key: 'console-apikey',
      name: 'Console API key',
      baseUrl: sandbox.url,
      auth: { type: 'custom', label: 'Personal access token', description: 'Create one under Settings, Tokens.', apply: { in: 'header', name: 'X-Api-Key' } },
      unregisterUrl: `${sandbox.url}/account/apps`,
      dangerouslyAllowInsecureTargets: { plainHttp: true, privateNetwork: true },
      flows: [],
    };
    const deployed = await app.call('POST', '/elements', { body: definition });
    assert.ok(deployed.status === 200 || deployed.status === 201, deployed.text);
    const firstKey = 'pat-first-6f1c2a9b';
    const secondKey = 'pat-second-0d8e4b7c';
    secrets.push(firstKey, secondKey);

    await page.goto(`${app.url}/#/connectors/console-apikey/test`);
    await page.getByRole('button', { name: '+ New Connection' }).click();
    const input = page.getByLabel('Personal access token');
    assert.equal(await input.getAttribute('type'), 'password');
    await page.getByText('Create one under Settings, Tokens.').waitFor();
    await page.getByLabel('Name').fill('Dana token');
    await input.fill(firstKey);
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText('Connection “Dana token” created.').waitFor();
    const card = connectionCard(page, 'Dana token');
    await statusBadge(card).getByText('Active', { exact: true }).waitFor();
    await assertNoSecrets(page, secrets, 'the API-key test connections page');

    await card.getByRole('button', { name: 'Reauthorize' }).click();
    await card.getByLabel('Personal access token').fill(secondKey);
    await card.getByRole('button', { name: 'Save new credentials' }).click();
    await card.getByText('Re-authenticated in place.').waitFor();
    const stored = await app.call('GET', `/instances/${String(await card.getAttribute('data-instance-id'))}/credentials`);
    assert.equal(stored.body.apiKey, secondKey, 'the new key replaced the old one');
    await assertNoSecrets(page, secrets, 'the API-key connection after reauthorize');

    await card.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete and revoke' }).click();
    await page.getByRole('heading', { name: 'Deleted “Dana token”' }).waitFor();
    const outcome = page.getByTestId('revoke-result').first();
    await outcome.getByText('not revoked', { exact: true }).waitFor();
    // Not revoked: the connector's text is a manual step, in warning style, with the unregister URL to act on.
    const manual = outcome.locator('.revoke-manual.notice-warn');
    await manual.getByText(/^Manual step/).waitFor();
    await manual.getByText(/Remove the access by hand/).waitFor();
    await manual.getByRole('link', { name: `${sandbox.url}/account/apps` }).waitFor();
    assert.equal(await outcome.getByText(/^The provider revoked the access/).count(), 0, 'no success line without a revocation');
    await outcome.getByText('No call was made to the provider.').waitFor();
    await screenshot(page, '13b-api-key-manual-revocation');
  });

  await t.test('executions: runs listed and one shown card by card, redacted', async () => {
    await page.goto(`${app.url}/#/executions`);
    await page.getByRole('heading', { name: 'Executions', level: 1 }).waitFor();
    const first = page.getByRole('link', { name: '_revoke' }).first();
    await first.click();
    await page.getByRole('heading', { name: 'Execution of _revoke' }).waitFor();
    await page.getByRole('list', { name: 'Cards in the order they ran' }).waitFor();
    await assertNoSecrets(page, secrets, 'an execution page');
    await screenshot(page, '14-execution');
  });

  await t.test('phone width: the test connections page fits without horizontal scrolling', async () => {
    // Imported tokens the provider does not know: the authping on create marks the connection invalid.
    const imported = await app.call('POST', '/instances', {
      body: { element: { key: CONNECTOR_KEY }, name: 'Carol imported', externalUserId: 'carol-3', tokens: { accessToken: 'not-a-token-the-sandbox-issued' } },
    });
    assert.equal(imported.status, 201, imported.text);
    secrets.push('not-a-token-the-sandbox-issued');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${app.url}/#/connectors/${CONNECTOR_KEY}/test`);
    const card = connectionCard(page, 'Carol imported');
    await statusBadge(card).getByText('Invalid', { exact: true }).waitFor();
    await card.getByRole('button', { name: 'Test authping' }).click();
    await card.getByTestId('authping-result').getByText('not working', { exact: true }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px at phone width`);
    await screenshot(page, '15-test-connections-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await t.test('keyboard: the skip link comes first and every control on the page has an accessible name', async () => {
    await page.goto(`${app.url}/#/connectors`);
    await page.reload();
    await page.getByRole('heading', { name: 'Connectors', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('button, a[href], input, select')]
        .filter((element) => {
          const labelled = element.getAttribute('aria-label') ?? element.getAttribute('aria-labelledby');
          const text = (element.textContent ?? '').trim();
          const label = element instanceof HTMLInputElement || element instanceof HTMLSelectElement ? element.labels?.length ?? 0 : 0;
          return labelled === null && text === '' && label === 0;
        })
        .map((element) => element.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unnamed, []);
  });

  await t.test('a read-only key: an invalid connection shows its badge, and a refused action shows FORBIDDEN', async () => {
    const created = await app.call('POST', '/api-keys', { body: { name: 'console read-only', permissions: ['elements:read', 'instances:read', 'events:read'] } });
    assert.equal(created.status, 201, created.text);
    const readOnlyKey = String(created.body.secret);
    secrets.push(readOnlyKey);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the key');
    await page.getByLabel('API key').fill(readOnlyKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Connectors', level: 1 }).waitFor();
    await page.goto(`${app.url}/#/connectors/${CONNECTOR_KEY}/test`);
    const card = connectionCard(page, 'Carol imported');
    await statusBadge(card).getByText('Invalid', { exact: true }).waitFor();
    await card.getByRole('button', { name: 'Test revoke' }).click();
    const alert = card.getByRole('alert');
    await alert.getByText('FORBIDDEN').waitFor();
    assert.match(await alert.innerText(), /instances:write/);
    await assertNoSecrets(page, secrets, 'the test connections page with a read-only key');
    await screenshot(page, '16-forbidden');

    const revoked = await app.call('DELETE', `/api-keys/${String(created.body.id)}`);
    assert.ok(revoked.status === 200 || revoked.status === 204, revoked.text);
    await navLink(page, 'Connections').click();
    await page.getByText('The server no longer accepts the key this tab was using. Sign in again.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a rejected key is forgotten');
    assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
    assert.ok(shotCount >= 14, `screenshots taken: ${shotCount}`);
  });
});

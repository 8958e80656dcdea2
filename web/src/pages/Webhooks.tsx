/**
 * Webhooks: the organization's endpoints that receive signed lifecycle events. Add one (URL and event types), send a
 * test delivery, read each endpoint's delivery log, remove it. The signing secret the API returns once on creation is
 * never rendered: the console offers to copy it to the clipboard instead.
 */
import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../api.ts';
import type { ApiError } from '../api.ts';
import { Async, ConfirmDialog, ErrorPanel, PageHeader, Pill, Table, Time, toApiError, useApi, useSubmit } from '../components.tsx';
import { toPage } from '../model.ts';
import { KNOWN_EVENT_TYPES } from '../../../src/core/events.ts';
import type { Webhook, WebhookDelivery } from '../model.ts';

/** Exactly the types `POST /webhooks` accepts: the server's list, bundled, so form and API cannot drift apart. */
export const EVENT_TYPES: readonly string[] = KNOWN_EVENT_TYPES;

function deliveryTone(status: string | undefined): 'good' | 'bad' | 'warn' | 'neutral' {
  if (status === 'succeeded') return 'good';
  if (status === 'failed') return 'bad';
  if (status === 'pending') return 'warn';
  return 'neutral';
}

function DeliveryLog({ webhookId }: { webhookId: string }) {
  const log = useApi(
    async (signal) => toPage<WebhookDelivery>(await api.get(`/webhooks/${encodeURIComponent(webhookId)}/deliveries`, { limit: 50 }, signal), ['deliveries']).items,
    [webhookId],
  );
  return (
    <div className="delivery-log">
      <div className="section-head">
        <h4>Delivery log</h4>
        <button type="button" className="button secondary small" onClick={log.reload}>
          Refresh
        </button>
      </div>
      <Async state={log} isEmpty={(items) => items.length === 0} empty="No deliveries yet." loadingLabel="Loading deliveries">
        {(items) => (
          <Table caption="Deliveries" columns={['Event', 'Status', 'Response', 'Attempts', 'When']}>
            {items.map((delivery) => (
              <tr key={delivery.id}>
                <th scope="row">
                  <code>{delivery.eventType}</code>
                </th>
                <td>
                  <Pill tone={deliveryTone(delivery.status)}>{delivery.status}</Pill>
                  {delivery.lastError !== null ? <span className="muted small"> {delivery.lastError}</span> : null}
                </td>
                <td>{delivery.lastStatusCode ?? '—'}</td>
                <td>{delivery.attempts}</td>
                <td>
                  <Time value={delivery.deliveredAt ?? delivery.lastAttemptAt ?? delivery.createdAt} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Async>
    </div>
  );
}

function WebhookCard({ webhook, onRemoved }: { webhook: Webhook; onRemoved: () => void }) {
  const [open, setOpen] = useState(false);
  const [testing, setTesting] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [logKey, setLogKey] = useState(0);
  const path = `/webhooks/${encodeURIComponent(webhook.id)}`;
  const events = webhook.events;

  async function test() {
    setTesting(true);
    setError(null);
    setResult(null);
    try {
      const answer = await api.post<{ deliveryId: string; status: string }>(`${path}/test`);
      setResult(`Test delivery ${answer.deliveryId} queued (${answer.status}); it appears in the delivery log below.`);
      setOpen(true);
      setLogKey((value) => value + 1);
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setTesting(false);
    }
  }

  async function remove() {
    setConfirming(false);
    setError(null);
    try {
      await api.del(path);
      onRemoved();
    } catch (caught) {
      setError(toApiError(caught));
    }
  }

  return (
    <li className="card">
      <div className="connection-head">
        <h3>
          <code className="break">{webhook.url}</code>
        </h3>
        {webhook.enabled === false ? <Pill tone="warn">disabled</Pill> : null}
      </div>
      <p className="small">Events: {events.includes('*') ? 'all' : events.join(', ')}</p>
      <div className="actions wrap">
        <button type="button" className="button small" onClick={test} disabled={testing}>
          {testing ? 'Sending…' : 'Send test'}
        </button>
        <button type="button" className="button secondary small" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? 'Hide delivery log' : 'Delivery log'}
        </button>
        <button type="button" className="button danger small" onClick={() => setConfirming(true)}>
          Remove
        </button>
      </div>
      {result !== null ? (
        <p className="notice" role="status">
          {result}
        </p>
      ) : null}
      {error !== null ? <ErrorPanel error={error} /> : null}
      {open ? <DeliveryLog key={logKey} webhookId={webhook.id} /> : null}
      <ConfirmDialog open={confirming} title="Remove this webhook?" confirmLabel="Remove" danger onCancel={() => setConfirming(false)} onConfirm={remove}>
        <p>
          Deliveries to <code className="break">{webhook.url}</code> stop at once.
        </p>
      </ConfirmDialog>
    </li>
  );
}

export function WebhooksPage() {
  const id = useId();
  const list = useApi(async (signal) => toPage<Webhook>(await api.get('/webhooks', undefined, signal), ['webhooks']).items, []);
  const [url, setUrl] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const { busy, error, setError, run } = useSubmit();
  const [secret, setSecret] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  async function add(event: FormEvent) {
    event.preventDefault();
    setSecret(null);
    setCopied(false);
    await run(async () => {
      const created = await api.post<Webhook & { signingSecret?: string }>('/webhooks', { url: url.trim(), events: selected.length === 0 ? ['*'] : selected });
      setSecret(created.signingSecret ?? null);
      setUrl('');
      setSelected([]);
      list.reload();
    });
  }

  return (
    <section>
      <PageHeader title="Webhooks" lead="Signed (HMAC-SHA256) JSON deliveries of lifecycle events, retried with backoff." />
      <form className="card" onSubmit={add} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Add a webhook</h2>
        <div className="field">
          <label htmlFor={`${id}-url`}>Endpoint URL</label>
          <input id={`${id}-url`} type="url" value={url} onChange={(event) => setUrl(event.target.value)} required placeholder="https://example.com/plugboard-events" />
        </div>
        <fieldset className="checkboxes">
          <legend>Event types (none selected: all)</legend>
          {EVENT_TYPES.map((type) => (
            <label key={type}>
              <input
                type="checkbox"
                checked={selected.includes(type)}
                onChange={(event) => setSelected(event.target.checked ? [...selected, type] : selected.filter((item) => item !== type))}
              />{' '}
              <code>{type}</code>
            </label>
          ))}
        </fieldset>
        {error !== null ? <ErrorPanel error={error} title="Could not add the webhook" /> : null}
        {secret !== null ? (
          <div className="notice" role="status">
            <p>
              Webhook added. Its signing secret is shown only once by the API and is not displayed here: copy it now and store it
              with the receiving service.
            </p>
            <div className="actions">
            <button
              type="button"
              className="button small"
              onClick={async () => {
                try {
                  await navigator.clipboard.writeText(secret);
                  setCopied(true);
                } catch {
                  setError(toApiError(new Error('The browser refused clipboard access; use `plugboard webhooks add` to obtain a secret instead.')));
                }
              }}
            >
              {copied ? 'Copied' : 'Copy signing secret'}
            </button>
            <button type="button" className="button secondary small" onClick={() => setSecret(null)}>
              Done
            </button>
            </div>
          </div>
        ) : null}
        <div className="actions">
          <button type="submit" className="button" disabled={busy}>
            {busy ? 'Adding…' : 'Add webhook'}
          </button>
        </div>
      </form>
      <h2>Endpoints</h2>
      <Async state={list} isEmpty={(items) => items.length === 0} empty="No webhooks yet." loadingLabel="Loading webhooks">
        {(items) => (
          <ul className="connection-list" aria-label="Webhooks">
            {items.map((webhook) => (
              <WebhookCard key={webhook.id} webhook={webhook} onRemoved={list.reload} />
            ))}
          </ul>
        )}
      </Async>
    </section>
  );
}

/**
 * The receipt of one erasure request, followed live: while the request is pending or running the page polls
 * `GET /erasure-requests/{id}` once a second and shows the progress; when it completes it shows per connection the
 * connector, revoked, verified, how and when, the provider's status and attempts, and the manual steps that remain,
 * with their unregister URLs as links.
 */
import { useEffect } from 'react';
import { api } from '../api.ts';
import { Async, ExternalLink, PageHeader, Pill, Row, Table, Time, useApi } from '../components.tsx';
import { describeSubject, messageText } from '../model.ts';
import type { ErasureItem, ErasureReceipt } from '../model.ts';
import { href } from '../router.ts';

const FINAL = new Set(['completed', 'completed_with_manual_steps']);

export function erasureTone(status: string): 'good' | 'bad' | 'warn' | 'neutral' {
  if (status === 'completed') return 'good';
  if (status === 'completed_with_manual_steps') return 'warn';
  return 'neutral';
}

function itemTone(item: ErasureItem): 'good' | 'bad' | 'warn' | 'neutral' {
  if (item.status === 'revoked') return 'good';
  if (item.status === 'failed') return 'bad';
  if (item.status === 'manual') return 'warn';
  return 'neutral';
}

const METHOD_LABELS: Record<string, string> = { flow: 'revoke flow', rfc7009: 'RFC 7009', manual: 'manual' };

export function ErasureReceiptPage({ requestId }: { requestId: string }) {
  const state = useApi((signal) => api.get<ErasureReceipt>(`/erasure-requests/${encodeURIComponent(requestId)}`, undefined, signal), [requestId]);
  const { reload, data, status: loadStatus } = state;
  const status = data?.status;
  useEffect(() => {
    if (status === undefined || FINAL.has(status) || loadStatus !== 'ok') return;
    const timer = window.setTimeout(reload, 1000);
    return () => window.clearTimeout(timer);
  }, [status, data, loadStatus, reload]);

  return (
    <section>
      <p className="breadcrumb">
        <a href={href(['erasure'])}>Erasure requests</a> / <code>{requestId}</code>
      </p>
      <Async state={state} loadingLabel="Loading the receipt">
        {(receipt) => {
          const items = receipt.connections;
          const steps = items.filter((item) => item.manualStep !== null);
          const done = receipt.total - receipt.remaining;
          return (
            <>
              <PageHeader title="Erasure receipt">
                <Pill tone={erasureTone(receipt.status)}>
                  <span data-testid="erasure-status">{receipt.status}</span>
                </Pill>
              </PageHeader>
              <div className="card" aria-live="polite">
                <dl className="facts">
                  <Row label="Request">
                    <code>{receipt.id}</code>
                  </Row>
                  <Row label="Subject">{describeSubject(receipt.subject)}</Row>
                  <Row label="Created">
                    <Time value={receipt.createdAt} />
                  </Row>
                  <Row label="Started">{receipt.startedAt !== null ? <Time value={receipt.startedAt} /> : undefined}</Row>
                  <Row label="Completed">{receipt.completedAt !== null ? <Time value={receipt.completedAt} /> : undefined}</Row>
                </dl>
                <ul className="totals" aria-label="Totals">
                  <li>
                    <strong>{receipt.totals.connections}</strong> connections
                  </li>
                  <li>
                    <strong>{receipt.totals.revoked}</strong> revoked
                  </li>
                  <li>
                    <strong>{receipt.totals.verified}</strong> verified
                  </li>
                  <li>
                    <strong>{receipt.totals.manual}</strong> manual
                  </li>
                  <li>
                    <strong>{receipt.totals.failed}</strong> failed
                  </li>
                  <li>
                    <strong>{receipt.totals.pending}</strong> pending
                  </li>
                </ul>
                {!FINAL.has(receipt.status) && receipt.total > 0 ? (
                  <div className="progress-wrap">
                    <label htmlFor="erasure-progress">
                      {done} of {receipt.total} connections processed
                    </label>
                    <progress id="erasure-progress" max={receipt.total} value={Math.min(Math.max(done, 0), receipt.total)} />
                  </div>
                ) : null}
                {!FINAL.has(receipt.status) ? (
                  <p className="loading small" role="status">
                    <span className="spinner" aria-hidden="true" /> Erasing; this page refreshes every second.
                  </p>
                ) : null}
              </div>
              {steps.length > 0 ? (
                <section className="card manual-steps" aria-labelledby="manual-heading">
                  <h2 id="manual-heading">Manual steps</h2>
                  <p>These providers could not revoke the access automatically. The person (or you, on their behalf) removes it by hand:</p>
                  <ol>
                    {steps.map((item) => {
                      const step = messageText(item.manualStep);
                      return (
                        <li key={item.instanceId}>
                          <strong>{item.connector}</strong>: {step.text ?? 'Remove the access by hand.'}{' '}
                          {step.unregisterURL !== undefined ? <ExternalLink url={step.unregisterURL} /> : null}
                        </li>
                      );
                    })}
                  </ol>
                </section>
              ) : null}
              <h2>Connections</h2>
              {items.length === 0 ? (
                <p className="empty">{FINAL.has(receipt.status) ? 'No connection matched this request.' : 'Finding the matching connections…'}</p>
              ) : (
                <Table caption="Connections in this erasure" columns={['Connector', 'Connection', 'Outcome', 'Verified', 'How', 'When', 'Provider status', 'Attempts']}>
                  {items.map((item) => (
                    <tr key={item.instanceId}>
                      <th scope="row">{item.connector}</th>
                      <td>
                        <code>{item.instanceId}</code>
                      </td>
                      <td>
                        <Pill tone={itemTone(item)}>{item.status}</Pill>
                      </td>
                      <td>{item.verified ? <Pill tone="good">verified</Pill> : <span className="muted">no</span>}</td>
                      <td>{item.method !== null ? (METHOD_LABELS[item.method] ?? item.method) : '—'}</td>
                      <td>
                        <Time value={item.at} />
                      </td>
                      <td>{item.providerStatus ?? '—'}</td>
                      <td>{item.attempts}</td>
                    </tr>
                  ))}
                </Table>
              )}
              {receipt.nextCursor !== null ? <p className="muted small">This receipt has more connections than shown here; the CLI (`plugboard erasure`) pages through all of them.</p> : null}
            </>
          );
        }}
      </Async>
    </section>
  );
}

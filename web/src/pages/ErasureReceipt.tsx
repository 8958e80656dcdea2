/**
 * The receipt of one erasure request, followed live: while the request is pending or running the page polls
 * `GET /erasure-requests/{id}` once a second and shows the progress; when it completes it shows per connection the
 * connector, revoked, verified, when, the provider's status and attempts, and the manual steps that remain, with
 * their unregister URLs as links.
 */
import { useEffect } from 'react';
import { api } from '../api.ts';
import { Async, ExternalLink, PageHeader, Pill, Row, Time, useApi } from '../components.tsx';
import { elementKeyOf, messageText } from '../model.ts';
import type { ErasureItem, ErasureReceipt } from '../model.ts';
import { href } from '../router.ts';

const FINAL = new Set(['completed', 'completed_with_manual_steps', 'failed']);

export function erasureTone(status: string): 'good' | 'bad' | 'warn' | 'neutral' {
  if (status === 'completed') return 'good';
  if (status === 'completed_with_manual_steps') return 'warn';
  if (status === 'failed') return 'bad';
  return 'neutral';
}

function manualStep(item: ErasureItem): { text?: string; unregisterURL?: string } | null {
  if (item.manualStep !== undefined && item.manualStep !== null) return item.manualStep;
  if (item.revoked === true) return null;
  const message = messageText(item.message);
  return message.text !== undefined || message.unregisterURL !== undefined ? message : null;
}

function Progress({ receipt, items }: { receipt: ErasureReceipt; items: ErasureItem[] }) {
  const total = receipt.totals?.connections ?? receipt.totals?.total ?? items.length;
  const done = receipt.totals?.processed ?? receipt.totals?.done ?? items.filter((item) => item.status !== 'pending' && item.status !== 'running').length;
  if (total === 0) return null;
  return (
    <div className="progress-wrap">
      <label htmlFor="erasure-progress">
        {done} of {total} connections processed
      </label>
      <progress id="erasure-progress" max={total} value={Math.min(done, total)} />
    </div>
  );
}

export function ErasureReceiptPage({ requestId }: { requestId: string }) {
  const state = useApi((signal) => api.get<ErasureReceipt>(`/erasure-requests/${encodeURIComponent(requestId)}`, undefined, signal), [requestId]);
  const status = state.data?.status;
  const { reload } = state;
  useEffect(() => {
    if (status === undefined || FINAL.has(status) || state.status === 'error') return;
    const timer = window.setTimeout(reload, 1000);
    return () => window.clearTimeout(timer);
  }, [status, state.data, state.status, reload]);

  return (
    <section>
      <p className="breadcrumb">
        <a href={href(['erasure'])}>Erasure requests</a> / <code>{requestId}</code>
      </p>
      <Async state={state} loadingLabel="Loading the receipt">
        {(receipt) => {
          const items = receipt.connections ?? receipt.items ?? [];
          const steps = items.map((item) => ({ item, step: manualStep(item) })).filter((entry) => entry.step !== null);
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
                  <Row label="External user">{receipt.externalUserId ?? undefined}</Row>
                  <Row label="Created">
                    <Time value={receipt.createdAt} />
                  </Row>
                  <Row label="Completed">{receipt.completedAt !== undefined && receipt.completedAt !== null ? <Time value={receipt.completedAt} /> : undefined}</Row>
                  {receipt.totals !== undefined
                    ? Object.entries(receipt.totals).map(([name, value]) => (
                        <Row key={name} label={`Total ${name}`}>
                          {String(value)}
                        </Row>
                      ))
                    : null}
                </dl>
                {!FINAL.has(receipt.status) ? <Progress receipt={receipt} items={items} /> : null}
              </div>
              {steps.length > 0 ? (
                <section className="card manual-steps" aria-labelledby="manual-heading">
                  <h2 id="manual-heading">Manual steps</h2>
                  <p>These providers could not revoke the access automatically. The person (or you, on their behalf) removes it by hand:</p>
                  <ol>
                    {steps.map(({ item, step }, index) => (
                      <li key={index}>
                        <strong>{elementKeyOf(item.element, item.elementKey ?? item.connector)}</strong>: {step?.text ?? 'Remove the access by hand.'}{' '}
                        {step?.unregisterURL !== undefined ? <ExternalLink url={step.unregisterURL} /> : null}
                      </li>
                    ))}
                  </ol>
                </section>
              ) : null}
              <h2>Connections</h2>
              {items.length === 0 ? (
                <p className="empty">{FINAL.has(receipt.status) ? 'No connection matched this request.' : 'Finding the matching connections…'}</p>
              ) : (
                <div className="table-wrap">
                  <table>
                    <caption className="visually-hidden">Connections in this erasure</caption>
                    <thead>
                      <tr>
                        <th scope="col">Connector</th>
                        <th scope="col">Connection</th>
                        <th scope="col">Revoked</th>
                        <th scope="col">Verified</th>
                        <th scope="col">When</th>
                        <th scope="col">Provider status</th>
                        <th scope="col">Attempts</th>
                      </tr>
                    </thead>
                    <tbody>
                      {items.map((item, index) => (
                        <tr key={item.instanceId ?? index}>
                          <th scope="row">{elementKeyOf(item.element, item.elementKey ?? item.connector)}</th>
                          <td>{item.instanceId !== undefined ? <code>{item.instanceId}</code> : '—'}</td>
                          <td>{item.revoked === undefined ? <Pill tone="neutral">{item.status ?? 'pending'}</Pill> : item.revoked ? <Pill tone="good">revoked</Pill> : <Pill tone="bad">not revoked</Pill>}</td>
                          <td>{item.verified === true ? <Pill tone="good">verified</Pill> : <span className="muted">no</span>}</td>
                          <td>
                            <Time value={item.revokedAt ?? item.at} />
                          </td>
                          <td>{item.providerStatus ?? '—'}</td>
                          <td>{item.attempts ?? '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}

/**
 * Executions page: flow runs with their status, filtered by connection, flow and status (from the URL), newest first.
 * Each row links to the card-by-card view.
 */
import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../api.ts';
import { Async, PageHeader, Pill, Time, useApi } from '../components.tsx';
import { toPage } from '../model.ts';
import type { Execution } from '../model.ts';
import { href, replaceRoute } from '../router.ts';

export function executionTone(status: string): 'good' | 'bad' | 'warn' | 'neutral' {
  if (status === 'succeeded') return 'good';
  if (status === 'failed') return 'bad';
  return 'neutral';
}

export function ExecutionsPage({ query }: { query: URLSearchParams }) {
  const id = useId();
  const instanceId = query.get('instanceId') ?? '';
  const flow = query.get('flow') ?? '';
  const status = query.get('status') ?? '';
  const [draft, setDraft] = useState({ instanceId, flow });
  const list = useApi(
    async (signal) => toPage<Execution>(await api.get('/executions', { instanceId, flow, status, limit: 100 }, signal), ['executions']).items,
    [instanceId, flow, status],
  );
  function apply(next: Record<string, string>) {
    replaceRoute(href(['executions'], { instanceId, flow, status, ...next }));
  }
  return (
    <section>
      <PageHeader title="Executions" lead="Flow runs, card by card. Values that came from the vault are stored as [redacted]." />
      <form
        className="filters"
        role="search"
        aria-label="Filter executions"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          apply({ instanceId: draft.instanceId.trim(), flow: draft.flow.trim() });
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-instance`}>Connection id</label>
          <input id={`${id}-instance`} value={draft.instanceId} onChange={(event) => setDraft({ ...draft, instanceId: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-flow`}>Flow</label>
          <input id={`${id}-flow`} value={draft.flow} onChange={(event) => setDraft({ ...draft, flow: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-status`}>Status</label>
          <select id={`${id}-status`} value={status} onChange={(event) => apply({ status: event.target.value })}>
            <option value="">Any status</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <button type="submit" className="button secondary">
          Apply
        </button>
      </form>
      <Async state={list} isEmpty={(items) => items.length === 0} empty="No executions match. Flows with “save all data” on record their runs here." loadingLabel="Loading executions">
        {(items) => (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Executions</caption>
              <thead>
                <tr>
                  <th scope="col">Flow</th>
                  <th scope="col">Status</th>
                  <th scope="col">Connector</th>
                  <th scope="col">Connection</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                </tr>
              </thead>
              <tbody>
                {items.map((execution) => (
                  <tr key={execution.id}>
                    <th scope="row">
                      <a href={href(['executions', execution.id])}>
                        <code>{execution.flow}</code>
                      </a>
                    </th>
                    <td>
                      <Pill tone={executionTone(execution.status)}>{execution.status}</Pill>
                    </td>
                    <td>{execution.connectorKey ?? execution.elementKey ?? '—'}</td>
                    <td>{execution.instanceId !== undefined && execution.instanceId !== null ? <a href={href(['connections', execution.instanceId])}>{execution.instanceId}</a> : <span className="muted">—</span>}</td>
                    <td>
                      <Time value={execution.startedAt} />
                    </td>
                    <td>{execution.durationMs !== undefined ? `${execution.durationMs} ms` : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Async>
    </section>
  );
}

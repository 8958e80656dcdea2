/**
 * Executions page: flow runs with their status, filtered by connection, flow and status (from the URL), newest first.
 * Each row links to the card-by-card view.
 */
import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../api.ts';
import { Async, PageHeader, Pill, Table, Time, useApi } from '../components.tsx';
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
  const connectionId = query.get('connectionId') ?? '';
  const flow = query.get('flow') ?? '';
  const status = query.get('status') ?? '';
  const [draft, setDraft] = useState({ connectionId, flow });
  const list = useApi(
    async (signal) => toPage<Execution>(await api.get('/executions', { connectionId, flow, status, limit: 100 }, signal), ['executions']).items,
    [connectionId, flow, status],
  );
  function apply(next: Record<string, string>) {
    replaceRoute(href(['executions'], { connectionId, flow, status, ...next }));
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
          apply({ connectionId: draft.connectionId.trim(), flow: draft.flow.trim() });
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-instance`}>Connection id</label>
          <input id={`${id}-instance`} value={draft.connectionId} onChange={(event) => setDraft({ ...draft, connectionId: event.target.value })} />
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
          <Table caption="Executions" columns={['Flow', 'Status', 'Connector', 'Connection', 'Trigger', 'Started', 'Duration']}>
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
                <td>{execution.connectorKey ?? '—'}</td>
                <td>{execution.connectionId !== undefined && execution.connectionId !== null ? <a href={href(['connections', execution.connectionId])}>{execution.connectionId}</a> : <span className="muted">—</span>}</td>
                <td>{execution.trigger ?? '—'}</td>
                <td>
                  <Time value={execution.startedAt} />
                </td>
                <td>{execution.durationMs !== undefined ? `${execution.durationMs} ms` : '—'}</td>
              </tr>
            ))}
          </Table>
        )}
      </Async>
    </section>
  );
}

/**
 * Erasure requests: ask Plugboard to erase a person's connections (by external user id, by connection ids, or by a
 * tag). The request runs in the background; the console opens its receipt page, which follows the progress. Earlier
 * requests are listed when the API lists them, and any request can be opened by its id.
 */
import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../api.ts';
import { Async, ErrorPanel, PageHeader, Pill, Table, Time, toApiError, useApi, useSubmit } from '../components.tsx';
import { describeSubject, toPage } from '../model.ts';
import type { ErasureSummary } from '../model.ts';
import { href, navigate } from '../router.ts';
import { erasureTone } from './ErasureReceipt.tsx';

type Target = 'externalUserId' | 'instanceIds' | 'tag';

export function ErasureRequestsPage() {
  const id = useId();
  const [target, setTarget] = useState<Target>('externalUserId');
  const [value, setValue] = useState('');
  const { busy, error, setError, run } = useSubmit();
  const [lookup, setLookup] = useState('');
  const list = useApi(async (signal) => toPage<ErasureSummary>(await api.get('/erasure-requests', { limit: 50 }, signal)).items, []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = value.trim();
    if (trimmed === '') {
      setError(toApiError(new Error('Enter who or what to erase first.')));
      return;
    }
    const body =
      target === 'instanceIds'
        ? { instanceIds: trimmed.split(/[\s,]+/).filter((item) => item !== '') }
        : target === 'tag'
          ? { tag: trimmed }
          : { externalUserId: trimmed };
    await run(async () => {
      const created = await api.post<{ id: string; status: string }>('/erasure-requests', body);
      navigate(href(['erasure', created.id]));
    });
  }

  return (
    <section>
      <PageHeader
        title="Erasure requests"
        lead="Erase a person's data: every matching connection is revoked at its provider, its secrets, configuration, execution history and events are deleted, and a receipt records the outcome."
      />
      <form className="card" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
        <h2 id={`${id}-title`}>New erasure request</h2>
        <fieldset className="mode">
          <legend>Erase by</legend>
          <label>
            <input type="radio" name={`${id}-target`} checked={target === 'externalUserId'} onChange={() => setTarget('externalUserId')} /> External user id
          </label>
          <label>
            <input type="radio" name={`${id}-target`} checked={target === 'instanceIds'} onChange={() => setTarget('instanceIds')} /> Connection ids
          </label>
          <label>
            <input type="radio" name={`${id}-target`} checked={target === 'tag'} onChange={() => setTarget('tag')} /> Tag
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-value`}>{target === 'externalUserId' ? 'External user id' : target === 'tag' ? 'Tag' : 'Connection ids (comma or space separated)'}</label>
          <input id={`${id}-value`} value={value} onChange={(event) => setValue(event.target.value)} required autoComplete="off" />
        </div>
        {error !== null ? <ErrorPanel error={error} title="Could not start the erasure" /> : null}
        <div className="actions">
          <button type="submit" className="button danger" disabled={busy}>
            {busy ? 'Starting…' : 'Start erasure'}
          </button>
        </div>
      </form>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (lookup.trim() !== '') navigate(href(['erasure', lookup.trim()]));
        }}
      >
        <label htmlFor={`${id}-lookup`}>Open a receipt by id</label>
        <input id={`${id}-lookup`} value={lookup} onChange={(event) => setLookup(event.target.value)} />
        <button type="submit" className="button secondary small">
          Open
        </button>
      </form>
      <h2>Requests</h2>
      <Async state={list} isEmpty={(items) => items.length === 0} empty="No erasure requests yet." loadingLabel="Loading erasure requests">
        {(items) => (
          <Table caption="Erasure requests" columns={['Request', 'Subject', 'Status', 'Connections', 'Created', 'Completed']}>
            {items.map((item) => (
              <tr key={item.id}>
                <th scope="row">
                  <a href={href(['erasure', item.id])}>
                    <code>{item.id}</code>
                  </a>
                </th>
                <td>{describeSubject(item.subject)}</td>
                <td>
                  <Pill tone={erasureTone(item.status)}>{item.status}</Pill>
                </td>
                <td>
                  {item.total - item.remaining} / {item.total}
                </td>
                <td>
                  <Time value={item.createdAt} />
                </td>
                <td>
                  <Time value={item.completedAt} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Async>
    </section>
  );
}

/**
 * Connections page: every connection of the organization with its status badge, filtered by connector, status and
 * external user (the filters live in the URL so a filtered view can be bookmarked), with cursor pagination.
 */
import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../api.ts';
import { Async, ErrorPanel, PageHeader, StatusBadge, Table, Time, toApiError, useApi } from '../components.tsx';
import type { ApiError } from '../api.ts';
import { CONNECTION_STATUSES, toPage } from '../model.ts';
import type { Element, Instance, Page } from '../model.ts';
import { href, replaceRoute } from '../router.ts';

export function ConnectionsPage({ query }: { query: URLSearchParams }) {
  const id = useId();
  const element = query.get('element') ?? '';
  const status = query.get('status') ?? '';
  const externalUserId = query.get('externalUserId') ?? '';
  const [externalDraft, setExternalDraft] = useState(externalUserId);
  useEffect(() => setExternalDraft(externalUserId), [externalUserId]);
  const elements = useApi(async (signal) => toPage<Element>(await api.get('/elements', undefined, signal), ['elements']).items, []);
  const list = useApi(
    async (signal) => toPage<Instance>(await api.get('/instances', { element, status, externalUserId, limit: 50 }, signal), ['instances']),
    [element, status, externalUserId],
  );
  const [more, setMore] = useState<Instance[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<ApiError | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => {
    setMore([]);
    setCursor(list.data?.nextCursor ?? null);
  }, [list.data]);

  function setFilter(name: string, value: string) {
    const next: Record<string, string> = { element, status, externalUserId, [name]: value };
    replaceRoute(href(['connections'], next));
  }

  async function loadMore() {
    if (cursor === null) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page: Page<Instance> = toPage<Instance>(await api.get('/instances', { element, status, externalUserId, limit: 50, cursor }), ['instances']);
      setMore((previous) => [...previous, ...page.items]);
      setCursor(page.nextCursor);
    } catch (error) {
      setMoreError(toApiError(error));
    } finally {
      setLoadingMore(false);
    }
  }

  return (
    <section>
      <PageHeader title="Connections" lead="Every connection (instance) of this organization." />
      <form
        className="filters"
        role="search"
        aria-label="Filter connections"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          setFilter('externalUserId', externalDraft.trim());
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-element`}>Connector</label>
          <select id={`${id}-element`} value={element} onChange={(event) => setFilter('element', event.target.value)}>
            <option value="">All connectors</option>
            {(elements.data ?? []).map((item) => (
              <option key={item.key} value={item.key}>
                {item.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-status`}>Status</label>
          <select id={`${id}-status`} value={status} onChange={(event) => setFilter('status', event.target.value)}>
            <option value="">Any status</option>
            {CONNECTION_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-external`}>External user</label>
          <input id={`${id}-external`} value={externalDraft} onChange={(event) => setExternalDraft(event.target.value)} />
        </div>
        <button type="submit" className="button secondary">
          Apply
        </button>
      </form>
      {elements.status === 'error' ? <ErrorPanel error={elements.error} title="Could not load the connector list for the filter" /> : null}
      <Async state={list} isEmpty={(page) => page.items.length === 0} empty="No connection matches these filters." loadingLabel="Loading connections">
        {(page) => {
          const rows = [...page.items, ...more];
          return (
            <>
              <Table caption="Connections" columns={['Name', 'Connector', 'External user', 'Status', 'Authenticated']}>
                {rows.map((instance) => (
                  <tr key={instance.id}>
                    <th scope="row">
                      <a href={href(['connections', instance.id])}>{instance.name}</a>
                    </th>
                    <td>
                      <a href={href(['connectors', instance.element.key])}>{instance.element.name ?? instance.element.key}</a>
                    </td>
                    <td>{instance.externalUserId ?? <span className="muted">—</span>}</td>
                    <td>
                      <StatusBadge status={instance.status} />
                    </td>
                    <td>
                      <Time value={instance.lastAuthenticatedAt} />
                    </td>
                  </tr>
                ))}
              </Table>
              {moreError !== null ? <ErrorPanel error={moreError} title="Could not load more" /> : null}
              {cursor !== null ? (
                <button type="button" className="button secondary" onClick={loadMore} disabled={loadingMore}>
                  {loadingMore ? 'Loading…' : 'Load more'}
                </button>
              ) : null}
            </>
          );
        }}
      </Async>
    </section>
  );
}

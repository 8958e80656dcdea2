/**
 * One connection: its details (never its secrets or instance token), enable/disable, links to its test page and its
 * executions, and the timeline of its lifecycle events from `GET /events`.
 */
import { api } from '../api.ts';
import { Async, ErrorPanel, JsonView, PageHeader, Row, StatusBadge, Time, toApiError, useApi } from '../components.tsx';
import type { ApiError } from '../api.ts';
import { toPage } from '../model.ts';
import { redact } from '../redaction.ts';
import type { Instance, PlatformEvent } from '../model.ts';
import { href } from '../router.ts';
import { useState } from 'react';

/** An event's data: flat values inline (`reason: authping failed`), nested ones behind a disclosure. */
function EventData({ data }: { data: Record<string, unknown> | undefined }) {
  if (data === undefined) return null;
  const redacted = redact(data) as Record<string, unknown>;
  const entries = Object.entries(redacted);
  const flat = entries.filter(([, value]) => value === null || ['string', 'number', 'boolean'].includes(typeof value));
  const nested = entries.filter(([, value]) => value !== null && typeof value === 'object');
  return (
    <>
      {flat.length > 0 ? (
        <p className="event-data small">
          {flat.map(([key, value], index) => (
            <span key={key}>
              {index > 0 ? ' · ' : ''}
              <span className="muted">{key}:</span> {String(value)}
            </span>
          ))}
        </p>
      ) : null}
      {nested.length > 0 ? (
        <details>
          <summary>More</summary>
          <JsonView value={Object.fromEntries(nested)} />
        </details>
      ) : null}
    </>
  );
}

/** `version` changes whenever the connection does (its updatedDate and status), so the timeline follows along. */
function EventTimeline({ instanceId, version }: { instanceId: string; version: string }) {
  const events = useApi(async (signal) => toPage<PlatformEvent>(await api.get('/events', { instanceId, limit: 100 }, signal), ['events']).items, [instanceId, version]);
  return (
    <section aria-labelledby="timeline-heading">
      <div className="section-head">
        <h2 id="timeline-heading">Events</h2>
        <button type="button" className="button secondary small" onClick={events.reload}>
          Refresh
        </button>
      </div>
      <Async state={events} isEmpty={(items) => items.length === 0} empty="No events recorded for this connection yet." loadingLabel="Loading events">
        {(items) => (
          <ol className="timeline" aria-label="Event timeline">
            {items.map((event) => (
              <li key={event.id}>
                <div className="timeline-head">
                  <code className="event-type">{event.type}</code> <Time value={event.occurredAt} />
                </div>
                <EventData data={event.data} />
              </li>
            ))}
          </ol>
        )}
      </Async>
    </section>
  );
}

export function ConnectionPage({ instanceId }: { instanceId: string }) {
  const path = `/instances/${encodeURIComponent(instanceId)}`;
  const state = useApi((signal) => api.get<Instance>(path, undefined, signal), [instanceId]);
  const [toggleError, setToggleError] = useState<ApiError | null>(null);
  const [toggling, setToggling] = useState(false);

  async function setEnabled(enabled: boolean) {
    setToggling(true);
    setToggleError(null);
    try {
      if (enabled) await api.put(`${path}/enabled`);
      else await api.del(`${path}/enabled`);
      state.reload();
    } catch (error) {
      setToggleError(toApiError(error));
    } finally {
      setToggling(false);
    }
  }

  return (
    <section>
      <p className="breadcrumb">
        <a href={href(['connections'])}>Connections</a> / <code>{instanceId}</code>
      </p>
      <Async state={state} loadingLabel="Loading connection">
        {(instance) => (
          <>
            <PageHeader title={instance.name}>
              <StatusBadge status={instance.status} />
              <a className="button secondary" href={href(['connectors', instance.element.key, 'test'])}>
                Test connections
              </a>
              <a className="button secondary" href={href(['executions'], { connectionId: instance.id })}>
                Executions
              </a>
              {instance.status === 'disabled' ? (
                <button type="button" className="button" disabled={toggling} onClick={() => setEnabled(true)}>
                  Enable
                </button>
              ) : instance.status !== 'revoked' ? (
                <button type="button" className="button secondary" disabled={toggling} onClick={() => setEnabled(false)}>
                  Disable
                </button>
              ) : null}
            </PageHeader>
            {toggleError !== null ? <ErrorPanel error={toggleError} title="Could not change the enabled state" /> : null}
            <div className="card">
              <dl className="facts">
                <Row label="Id">
                  <code>{instance.id}</code>
                </Row>
                <Row label="Connector">
                  <a href={href(['connectors', instance.element.key])}>{instance.element.name ?? instance.element.key}</a>
                </Row>
                <Row label="Status">
                  <StatusBadge status={instance.status} /> {instance.valid === false ? <span className="muted">(credentials not valid)</span> : null}
                </Row>
                <Row label="Disabled because">{instance.disabledReason ?? undefined}</Row>
                <Row label="External user">{instance.externalUserId ?? undefined}</Row>
                <Row label="Tags">{instance.tags !== undefined && instance.tags.length > 0 ? instance.tags.join(', ') : undefined}</Row>
                <Row label="Created">
                  <Time value={instance.createdDate} />
                </Row>
                <Row label="Updated">
                  <Time value={instance.updatedDate} />
                </Row>
                <Row label="Last authenticated">
                  <Time value={instance.lastAuthenticatedAt} />
                </Row>
                <Row label="Access token expires">{instance.expiresAt !== undefined && instance.expiresAt !== null ? <Time value={instance.expiresAt} /> : undefined}</Row>
                <Row label="Base URL">{instance.baseUrl ?? undefined}</Row>
              </dl>
              {instance.configuration !== undefined && Object.keys(instance.configuration).length > 0 ? (
                <details>
                  <summary>Configuration</summary>
                  <JsonView value={instance.configuration} label="Configuration" />
                </details>
              ) : null}
            </div>
            <EventTimeline instanceId={instance.id} version={`${instance.updatedDate ?? ''} ${instance.status}`} />
          </>
        )}
      </Async>
    </section>
  );
}

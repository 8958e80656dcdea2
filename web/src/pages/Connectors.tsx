/**
 * Connectors page: every connector the organization can use (built-in and private), with its auth type, how many
 * flows it has and how it revokes, linking to its details and to its Test Connections page.
 */
import { useId, useState } from 'react';
import { api } from '../api.ts';
import { Async, PageHeader, Pill, useApi } from '../components.tsx';
import { authType, authTypeLabel, flowCount, isOAuth, matchesText, revocationLabel, revocationStyle, toPage } from '../model.ts';
import type { Element, RevocationStyle } from '../model.ts';
import { href } from '../router.ts';

const REVOCATION_KINDS: { value: RevocationStyle['kind']; label: string }[] = [
  { value: 'flow', label: 'Custom revoke flow' },
  { value: 'rfc7009', label: 'RFC 7009 endpoint' },
  { value: 'manual', label: 'Manual' },
];

function ConnectorCard({ element }: { element: Element }) {
  const style = revocationStyle(element);
  return (
    <li className="card connector-card">
      <h2>
        <a href={href(['connectors', element.key])}>{element.name}</a>
      </h2>
      <p className="muted small">
        <code>{element.key}</code>
        {element.origin === 'private' ? ` · private, version ${element.version ?? '?'}` : ''}
      </p>
      {element.description !== undefined ? <p className="clamp">{element.description}</p> : null}
      <dl className="facts">
        <dt>Auth</dt>
        <dd>{authTypeLabel(authType(element))}</dd>
        <dt>Flows</dt>
        <dd>{flowCount(element)}</dd>
        {isOAuth(element) ? (
          <>
            <dt>OAuth app</dt>
            <dd>{element.oauthApp !== null && element.oauthApp !== undefined ? 'set' : <Pill tone="warn">not set</Pill>}</dd>
          </>
        ) : null}
        <dt>Revokes</dt>
        <dd>
          <Pill tone={style.kind === 'manual' ? 'warn' : 'good'}>{revocationLabel(style)}</Pill>
        </dd>
      </dl>
      <div className="actions">
        <a className="button secondary small" href={href(['connectors', element.key])}>
          Details<span className="visually-hidden"> of {element.name}</span>
        </a>
        <a className="button small" href={href(['connectors', element.key, 'test'])}>
          Test connections<span className="visually-hidden"> for {element.name}</span>
        </a>
      </div>
    </li>
  );
}

export function ConnectorsPage() {
  const id = useId();
  const state = useApi(async (signal) => toPage<Element>(await api.get('/elements', undefined, signal), ['elements']).items, []);
  const [text, setText] = useState('');
  const [auth, setAuth] = useState('');
  const [revocation, setRevocation] = useState('');
  const authTypes = [...new Set((state.data ?? []).map((element) => authType(element)))].sort();
  return (
    <section>
      <PageHeader title="Connectors" lead="The providers this organization can connect to, and how each one revokes access." />
      <form className="filters" role="search" aria-label="Filter connectors" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor={`${id}-text`}>Search</label>
          <input id={`${id}-text`} type="search" value={text} onChange={(event) => setText(event.target.value)} placeholder="Name or key" />
        </div>
        <div className="field">
          <label htmlFor={`${id}-auth`}>Auth type</label>
          <select id={`${id}-auth`} value={auth} onChange={(event) => setAuth(event.target.value)}>
            <option value="">Any auth type</option>
            {authTypes.map((type) => (
              <option key={type} value={type}>
                {authTypeLabel(type)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-revocation`}>Revokes by</label>
          <select id={`${id}-revocation`} value={revocation} onChange={(event) => setRevocation(event.target.value)}>
            <option value="">Any way</option>
            {REVOCATION_KINDS.map((kind) => (
              <option key={kind.value} value={kind.value}>
                {kind.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Async state={state} isEmpty={(items) => items.length === 0} empty="No connectors are available to this organization yet." loadingLabel="Loading connectors">
        {(items) => {
          const shown = items
            .filter((element) => matchesText(element, text))
            .filter((element) => auth === '' || authType(element) === auth)
            .filter((element) => revocation === '' || revocationStyle(element).kind === revocation)
            .sort((a, b) => a.name.localeCompare(b.name));
          return (
            <>
              <p className="muted small" role="status">
                Showing {shown.length} of {items.length} connectors.
              </p>
              {shown.length === 0 ? (
                <p className="empty">No connector matches these filters.</p>
              ) : (
                <ul className="card-grid" aria-label="Connectors">
                  {shown.map((element) => (
                    <ConnectorCard key={element.key} element={element} />
                  ))}
                </ul>
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}

/**
 * Connectors page: every connector the organization can use (built-in and private), with its auth type, how many
 * flows it has and how it revokes, linking to its details and to its Test Connections page.
 */
import { api } from '../api.ts';
import { Async, PageHeader, Pill, useApi } from '../components.tsx';
import { authType, authTypeLabel, flowCount, isOAuth, revocationLabel, revocationStyle, toPage } from '../model.ts';
import type { Element } from '../model.ts';
import { href } from '../router.ts';

export function ConnectorsPage() {
  const state = useApi(async (signal) => toPage<Element>(await api.get('/elements', undefined, signal), ['elements']).items, []);
  return (
    <section>
      <PageHeader title="Connectors" lead="The providers this organization can connect to, and how each one revokes access." />
      <Async state={state} isEmpty={(items) => items.length === 0} empty="No connectors are available to this organization yet." loadingLabel="Loading connectors">
        {(items) => (
          <ul className="card-grid" aria-label="Connectors">
            {[...items]
              .sort((a, b) => a.name.localeCompare(b.name))
              .map((element) => {
                const style = revocationStyle(element);
                return (
                  <li key={element.key} className="card connector-card">
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
              })}
          </ul>
        )}
      </Async>
    </section>
  );
}

/**
 * One connector: what it is, how it authenticates (with its OAuth settings when it uses OAuth), how it revokes, and
 * each of its flows as a readable list of cards.
 */
import { useId, useState } from 'react';
import type { FormEvent } from 'react';
import { api } from '../api.ts';
import { Async, ErrorPanel, ExternalLink, PageHeader, Pill, Row, Time, useApi, useSubmit } from '../components.tsx';
import { FlowView } from '../flowView.tsx';
import { authFields, authType, authTypeLabel, configurationFields, flowsOf, isAuthorizationCode, isOAuth, oauthSetting, revocationLabel, revocationStyle, unregisterUrl } from '../model.ts';
import type { Element } from '../model.ts';
import { href } from '../router.ts';

function Revocation({ element }: { element: Element }) {
  const style = revocationStyle(element);
  const manualUrl = unregisterUrl(element);
  return (
    <section className="card" aria-labelledby="revocation-heading">
      <h2 id="revocation-heading">How it revokes</h2>
      <p>
        <Pill tone={style.kind === 'manual' ? 'warn' : 'good'}>{revocationLabel(style)}</Pill>
        {element.revocation?.confirmed === false ? <span className="pill pill-warn">unconfirmed</span> : null}
      </p>
      {style.kind === 'flow' ? (
        <p>
          Deleting a connection, testing a revocation or erasing a person's data runs the <code>{style.flowName}</code> flow
          {style.cards !== undefined ? ` (${style.cards} cards, listed under Flows below)` : ''}.
        </p>
      ) : null}
      {style.kind === 'rfc7009' ? (
        <p>
          Plugboard sends a standard token revocation request (RFC 7009), refresh token first, then the access token
          {style.url !== undefined ? (
            <>
              {' '}to <ExternalLink url={style.url} />
            </>
          ) : null}
          .
        </p>
      ) : null}
      {style.kind === 'manual' ? (
        <p>This provider offers no revocation endpoint. A person removes the access by hand on the provider's site.</p>
      ) : null}
      {element.revocation?.statement !== undefined ? <p className="muted">{element.revocation.statement}</p> : null}
      {element.revocation?.source !== undefined && element.revocation.source !== null ? (
        <p className="small">
          Source: <ExternalLink url={element.revocation.source} />
        </p>
      ) : null}
      {manualUrl !== undefined ? (
        <p>
          Unregister URL (manual removal): <ExternalLink url={manualUrl} />
        </p>
      ) : null}
    </section>
  );
}

export function ConnectorPage({ elementKey }: { elementKey: string }) {
  const state = useApi((signal) => api.get<Element>(`/elements/${encodeURIComponent(elementKey)}`, undefined, signal), [elementKey]);
  return (
    <section>
      <p className="breadcrumb">
        <a href={href(['connectors'])}>Connectors</a> / <code>{elementKey}</code>
      </p>
      <Async state={state} loadingLabel="Loading connector">
        {(element) => {
          const type = authType(element);
          const fields = authFields(element);
          const flows = flowsOf(element);
          const configuration = configurationFields(element);
          return (
            <>
              <PageHeader title={element.name} lead={element.description}>
                <a className="button" href={href(['connectors', element.key, 'test'])}>
                  Test connections
                </a>
              </PageHeader>
              <div className="two-columns">
                <section className="card" aria-labelledby="auth-heading">
                  <h2 id="auth-heading">Authentication</h2>
                  <dl className="facts">
                    <Row label="Key">
                      <code>{element.key}</code>
                    </Row>
                    <Row label="Origin">{element.origin === 'private' ? `private, version ${element.version ?? '?'}` : element.origin === 'builtin' ? 'built-in' : undefined}</Row>
                    <Row label="Auth type">{authTypeLabel(type)}</Row>
                    <Row label="Base URL">{element.baseUrl !== undefined ? <code>{element.baseUrl}</code> : undefined}</Row>
                    <Row label="Authorization URL">{oauthSetting(element, 'authorizationUrl') !== undefined ? <code>{oauthSetting(element, 'authorizationUrl')}</code> : undefined}</Row>
                    <Row label="Token URL">{oauthSetting(element, 'tokenUrl') !== undefined ? <code>{oauthSetting(element, 'tokenUrl')}</code> : undefined}</Row>
                    <Row label="Revocation URL">{oauthSetting(element, 'revocationUrl') !== undefined ? <code>{oauthSetting(element, 'revocationUrl')}</code> : undefined}</Row>
                    <Row label="Scopes">{scopes(element)}</Row>
                    <Row label="PKCE">{pkce(element)}</Row>
                    <Row label="Client authentication">{oauthSetting(element, 'clientAuthentication')}</Row>
                    <Row label="Credential fields">{fields.length > 0 ? fields.map((field) => field.label ?? field.name).join(', ') : undefined}</Row>
                    <Row label="Configuration">{configuration.length > 0 ? configuration.map((field) => field.label).join(', ') : undefined}</Row>
                  </dl>
                </section>
                <Revocation element={element} />
              </div>
              {isOAuth(element) ? <OAuthAppForm element={element} onSaved={state.reload} /> : null}
              <h2>Flows</h2>
              {flows.length === 0 ? (
                <p className="empty">This connector declares no flows.</p>
              ) : (
                <div className="flows">
                  {flows.map((flow) => (
                    <FlowView key={flow.name} flow={flow} />
                  ))}
                </div>
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}

function scopes(element: Element): string | undefined {
  const value = element.definition?.auth?.scopes;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const separator = oauthSetting(element, 'scopeSeparator') ?? ' ';
  return value.join(separator);
}

function pkce(element: Element): string | undefined {
  if (!isAuthorizationCode(element)) return undefined;
  return element.definition?.auth?.pkce === false ? 'off' : 'S256';
}

/**
 * The organization's OAuth app for this connector (`PUT /elements/{key}/oauth-app`). The client secret goes to the
 * vault; the API never returns it and this form never shows it, not even after saving.
 */
function OAuthAppForm({ element, onSaved }: { element: Element; onSaved: () => void }) {
  const id = useId();
  const [clientId, setClientId] = useState(element.oauthApp?.clientId ?? '');
  const [clientSecret, setClientSecret] = useState('');
  const { busy, error, run } = useSubmit();
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    await run(async () => {
      await api.put(`/elements/${encodeURIComponent(element.key)}/oauth-app`, { clientId: clientId.trim(), clientSecret });
      setClientSecret('');
      setSaved(true);
      onSaved();
    });
  }

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>OAuth app</h2>
      <p>
        {element.oauthApp !== null && element.oauthApp !== undefined ? (
          <>
            Set: client id <code>{element.oauthApp.clientId}</code>
            {element.oauthApp.updatedAt !== undefined ? (
              <>
                , updated <Time value={element.oauthApp.updatedAt} />
              </>
            ) : null}
            . The secret is stored encrypted and never shown.
          </>
        ) : (
          <>Not set. Connections need the client id and secret of the app registered with {element.name}.</>
        )}
      </p>
      <form className="form-grid" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${id}-client`}>Client id</label>
          <input id={`${id}-client`} value={clientId} onChange={(event) => setClientId(event.target.value)} required autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor={`${id}-secret`}>Client secret</label>
          <input id={`${id}-secret`} type="password" value={clientSecret} onChange={(event) => setClientSecret(event.target.value)} required autoComplete="new-password" />
        </div>
        <div className="field align-end">
          <button type="submit" className="button" disabled={busy || clientId.trim() === '' || clientSecret === ''}>
            {busy ? 'Saving…' : element.oauthApp !== null && element.oauthApp !== undefined ? 'Replace OAuth app' : 'Save OAuth app'}
          </button>
        </div>
      </form>
      {saved ? (
        <p className="notice" role="status">
          OAuth app saved.
        </p>
      ) : null}
      {error !== null ? <ErrorPanel error={error} title="Could not save the OAuth app" /> : null}
    </section>
  );
}

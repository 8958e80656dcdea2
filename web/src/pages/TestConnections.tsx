/**
 * Test Connections for one connector, as in the connector builder: create a connection (OAuth through a popup or a
 * redirect and the hosted callback; a form generated from the connector's fields for basic and API key; client
 * credentials with one click), then per connection: Rename, Reauthorize, Test authping, Test revoke (no deploy step)
 * and Delete (asks first, shows the revocation outcome). Every action shows its own loading, result or error.
 */
import { useEffect, useId, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { ApiError, api } from '../api.ts';
import { Async, ConfirmDialog, ErrorPanel, PageHeader, StatusBadge, Time, toApiError, useApi } from '../components.tsx';
import { authorizeInPopup, readCallbackReport, requestOAuthUrl } from '../connect.ts';
import type { CallbackReport, OAuthMode } from '../connect.ts';
import {
  authFields,
  authType,
  authTypeLabel,
  configurationFields,
  isAuthorizationCode,
  isClientCredentials,
  revocationLabel,
  revocationStyle,
  toPage,
} from '../model.ts';
import type { AuthpingResult, Element, Instance, RevokeOutcome } from '../model.ts';
import { AuthpingView, RevokeOutcomeView } from '../outcomes.tsx';
import { href } from '../router.ts';

type Action<T> = { status: 'idle' } | { status: 'busy' } | { status: 'done'; result: T } | { status: 'error'; error: ApiError };

/** Runs one API action and tracks its state; the result stays on screen until the next run. */
function useAction<T>(): [Action<T>, (run: () => Promise<T>) => Promise<T | undefined>, () => void] {
  const [state, setState] = useState<Action<T>>({ status: 'idle' });
  async function start(run: () => Promise<T>): Promise<T | undefined> {
    setState({ status: 'busy' });
    try {
      const result = await run();
      setState({ status: 'done', result });
      return result;
    } catch (error) {
      setState({ status: 'error', error: toApiError(error) });
      return undefined;
    }
  }
  return [state, start, () => setState({ status: 'idle' })];
}

/** Turns the hosted callback's report into a notice, or throws it as an error so the action shows the error panel. */
function describeReport(report: CallbackReport | null): string {
  if (report === null) return 'The authorization window was closed before it finished; the list is refreshed.';
  if (report.kind === 'error') throw new ApiError(0, { code: report.code, message: report.message });
  return report.kind === 'reauthenticated' ? `Re-authenticated in place (connection ${report.instanceId}).` : `Connected: connection ${report.instanceId}.`;
}

function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

/** Inputs for the secret fields (basic, API key) and the non-secret configuration a connector declares. */
function CredentialInputs({
  element,
  values,
  onChange,
  idPrefix,
  includeConfiguration,
}: {
  element: Element;
  values: Record<string, string>;
  onChange: (name: string, value: string) => void;
  idPrefix: string;
  includeConfiguration: boolean;
}) {
  const fields = authFields(element);
  const configuration = includeConfiguration ? configurationFields(element) : [];
  return (
    <>
      {fields.map((field) => (
        <div className="field" key={`auth-${field.name}`}>
          <label htmlFor={`${idPrefix}-auth-${field.name}`}>
            {field.label ?? field.name}
            {field.required === true ? <span aria-hidden="true"> *</span> : null}
          </label>
          <input
            id={`${idPrefix}-auth-${field.name}`}
            type={field.secret === true ? 'password' : 'text'}
            autoComplete={field.secret === true ? 'new-password' : 'off'}
            required={field.required === true}
            value={values[`auth.${field.name}`] ?? ''}
            onChange={(event) => onChange(`auth.${field.name}`, event.target.value)}
          />
          {field.description !== undefined ? <p className="hint">{field.description}</p> : null}
        </div>
      ))}
      {configuration.map((field) => (
        <div className="field" key={`config-${field.key}`}>
          <label htmlFor={`${idPrefix}-config-${field.key}`}>
            {field.label}
            {field.required !== false ? <span aria-hidden="true"> *</span> : null}
          </label>
          <input
            id={`${idPrefix}-config-${field.key}`}
            type="text"
            autoComplete="off"
            required={field.required !== false}
            placeholder={field.default}
            value={values[`config.${field.key}`] ?? ''}
            onChange={(event) => onChange(`config.${field.key}`, event.target.value)}
          />
          {field.description !== undefined ? <p className="hint">{field.description}</p> : null}
        </div>
      ))}
    </>
  );
}

function pick(values: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name.startsWith(prefix) && value !== '') out[name.slice(prefix.length)] = value;
  }
  return out;
}

function NewConnectionForm({ element, onCreated, onCancel }: { element: Element; onCreated: (message: string) => void; onCancel: () => void }) {
  const idPrefix = useId();
  const [name, setName] = useState('');
  const [externalUserId, setExternalUserId] = useState('');
  const [tags, setTags] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [mode, setMode] = useState<OAuthMode>('popup');
  const [action, start] = useAction<string>();
  const oauth = isAuthorizationCode(element);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await start(async () => {
      const common = {
        name: name.trim() !== '' ? name.trim() : `${element.name} connection`,
        externalUserId: externalUserId.trim() !== '' ? externalUserId.trim() : undefined,
        tags: parseTags(tags),
      };
      const configuration = pick(values, 'config.');
      if (oauth) {
        const answer = await requestOAuthUrl(
          { elementKey: element.key, ...common, configuration, returnHash: href(['connectors', element.key, 'test']) },
          mode,
        );
        if (mode === 'redirect') {
          window.location.assign(answer.oauthUrl);
          return 'Redirecting to the provider…';
        }
        return describeReport(await authorizeInPopup(answer.oauthUrl));
      }
      const instance = await api.post<Instance>('/instances', {
        element: { key: element.key },
        ...common,
        configuration,
        ...(isClientCredentials(element) ? {} : { credentials: pick(values, 'auth.') }),
      });
      return `Connection “${instance.name}” created.`;
    });
    if (result !== undefined) {
      setValues({});
      onCreated(result);
    }
  }

  return (
    <form className="card new-connection" onSubmit={submit} aria-labelledby={`${idPrefix}-title`}>
      <h2 id={`${idPrefix}-title`}>New connection to {element.name}</h2>
      <p className="muted small">{authTypeLabel(authType(element))}</p>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${idPrefix}-name`}>Name</label>
          <input id={`${idPrefix}-name`} value={name} onChange={(event) => setName(event.target.value)} placeholder={`${element.name} connection`} />
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-external`}>External user id</label>
          <input id={`${idPrefix}-external`} value={externalUserId} onChange={(event) => setExternalUserId(event.target.value)} aria-describedby={`${idPrefix}-external-hint`} />
          <p className="hint" id={`${idPrefix}-external-hint`}>
            The person this connection belongs to (used by erasure requests).
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${idPrefix}-tags`}>Tags</label>
          <input id={`${idPrefix}-tags`} value={tags} onChange={(event) => setTags(event.target.value)} aria-describedby={`${idPrefix}-tags-hint`} />
          <p className="hint" id={`${idPrefix}-tags-hint`}>
            Comma separated.
          </p>
        </div>
        <CredentialInputs
          element={element}
          values={values}
          idPrefix={idPrefix}
          includeConfiguration
          onChange={(field, value) => setValues((previous) => ({ ...previous, [field]: value }))}
        />
      </div>
      {oauth ? (
        <fieldset className="mode">
          <legend>Authorize with {element.name}</legend>
          <label>
            <input type="radio" name={`${idPrefix}-mode`} checked={mode === 'popup'} onChange={() => setMode('popup')} /> In a popup
          </label>
          <label>
            <input type="radio" name={`${idPrefix}-mode`} checked={mode === 'redirect'} onChange={() => setMode('redirect')} /> Redirect this tab
          </label>
        </fieldset>
      ) : null}
      {action.status === 'error' ? <ErrorPanel error={action.error} title="Could not create the connection" /> : null}
      {action.status === 'busy' && oauth && mode === 'popup' ? (
        <p role="status" className="notice">
          Waiting for the authorization window to finish…
        </p>
      ) : null}
      <div className="actions">
        <button type="button" className="button secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button" disabled={action.status === 'busy'}>
          {oauth ? `Connect with ${element.name}` : 'Create connection'}
        </button>
      </div>
    </form>
  );
}

function RenameForm({ instance, onDone, onCancel }: { instance: Instance; onDone: () => void; onCancel: () => void }) {
  const id = useId();
  const [name, setName] = useState(instance.name);
  const [action, start] = useAction<Instance>();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await start(() => api.patch<Instance>(`/instances/${encodeURIComponent(instance.id)}`, { name: name.trim() }));
    if (result !== undefined) onDone();
  }
  return (
    <form className="inline-form" onSubmit={submit}>
      <label htmlFor={`${id}-rename`}>New name</label>
      <input id={`${id}-rename`} value={name} onChange={(event) => setName(event.target.value)} required autoFocus />
      <button type="submit" className="button small" disabled={action.status === 'busy' || name.trim() === ''}>
        Save name
      </button>
      <button type="button" className="button secondary small" onClick={onCancel}>
        Cancel
      </button>
      {action.status === 'error' ? <ErrorPanel error={action.error} title="Rename failed" /> : null}
    </form>
  );
}

function ReauthorizeForm({ element, instance, onDone, onCancel }: { element: Element; instance: Instance; onDone: (message: string) => void; onCancel: () => void }) {
  const idPrefix = useId();
  const [values, setValues] = useState<Record<string, string>>({});
  const [action, start] = useAction<string>();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await start(async () => {
      await api.patch<Instance>(`/instances/${encodeURIComponent(instance.id)}`, { credentials: pick(values, 'auth.') });
      return 'Re-authenticated in place.';
    });
    if (result !== undefined) onDone(result);
  }
  return (
    <form className="inline-form column" onSubmit={submit}>
      <CredentialInputs element={element} values={values} idPrefix={idPrefix} includeConfiguration={false} onChange={(field, value) => setValues((previous) => ({ ...previous, [field]: value }))} />
      <div className="actions">
        <button type="submit" className="button small" disabled={action.status === 'busy'}>
          Save new credentials
        </button>
        <button type="button" className="button secondary small" onClick={onCancel}>
          Cancel
        </button>
      </div>
      {action.status === 'error' ? <ErrorPanel error={action.error} title="Reauthorize failed" /> : null}
    </form>
  );
}

function ConnectionCard({ element, instance, onChanged, onDeleted }: { element: Element; instance: Instance; onChanged: () => void; onDeleted: (outcome: RevokeOutcome, name: string) => void }) {
  const [panel, setPanel] = useState<'none' | 'rename' | 'reauthorize'>('none');
  const [note, setNote] = useState<string | null>(null);
  const [authping, runAuthping] = useAction<AuthpingResult>();
  const [revoke, runRevoke] = useAction<RevokeOutcome>();
  const [reauth, runReauth] = useAction<string>();
  const [remove, runRemove] = useAction<RevokeOutcome>();
  const [confirming, setConfirming] = useState(false);
  const path = `/instances/${encodeURIComponent(instance.id)}`;
  const headingId = useId();

  async function reauthorize() {
    setNote(null);
    if (!isAuthorizationCode(element)) {
      setPanel('reauthorize');
      return;
    }
    const result = await runReauth(async () => {
      const answer = await requestOAuthUrl({ elementKey: element.key, instanceId: instance.id, returnHash: href(['connectors', element.key, 'test']) }, 'popup');
      return describeReport(await authorizeInPopup(answer.oauthUrl));
    });
    if (result !== undefined) onChanged();
  }

  /** The list reloads after a successful action, so the status badge follows what the action changed. */
  async function refreshAfter(action: Promise<unknown>) {
    if ((await action) !== undefined) onChanged();
  }

  const busy = authping.status === 'busy' || revoke.status === 'busy' || remove.status === 'busy' || reauth.status === 'busy';
  return (
    <li className="card connection-card" aria-labelledby={headingId} data-instance-id={instance.id}>
      <div className="connection-head">
        <h3 id={headingId}>
          <a href={href(['connections', instance.id])}>{instance.name}</a>
        </h3>
        <StatusBadge status={instance.status} />
      </div>
      <dl className="facts compact">
        <dt>External user</dt>
        <dd>{instance.externalUserId ?? <span className="muted">—</span>}</dd>
        <dt>Tags</dt>
        <dd>{instance.tags !== undefined && instance.tags.length > 0 ? instance.tags.join(', ') : <span className="muted">—</span>}</dd>
        <dt>Authenticated</dt>
        <dd>
          <Time value={instance.lastAuthenticatedAt} />
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{instance.id}</code>
        </dd>
      </dl>
      <div className="actions wrap" role="group" aria-label={`Actions for ${instance.name}`}>
        <button type="button" className="button secondary small" onClick={() => setPanel(panel === 'rename' ? 'none' : 'rename')} aria-expanded={panel === 'rename'}>
          Rename
        </button>
        <button type="button" className="button secondary small" onClick={reauthorize} disabled={busy}>
          Reauthorize
        </button>
        <button type="button" className="button small" disabled={busy} onClick={() => refreshAfter(runAuthping(() => api.post<AuthpingResult>(`${path}/authping`)))}>
          Test authping
        </button>
        <button type="button" className="button small" disabled={busy} onClick={() => refreshAfter(runRevoke(() => api.post<RevokeOutcome>(`${path}/revoke`)))}>
          Test revoke
        </button>
        <button type="button" className="button danger small" disabled={busy} onClick={() => setConfirming(true)}>
          Delete
        </button>
      </div>
      {panel === 'rename' ? (
        <RenameForm
          instance={instance}
          onCancel={() => setPanel('none')}
          onDone={() => {
            setPanel('none');
            setNote('Renamed.');
            onChanged();
          }}
        />
      ) : null}
      {panel === 'reauthorize' ? (
        <ReauthorizeForm
          element={element}
          instance={instance}
          onCancel={() => setPanel('none')}
          onDone={(message) => {
            setPanel('none');
            setNote(message);
            onChanged();
          }}
        />
      ) : null}
      {note !== null ? (
        <p className="notice" role="status">
          {note}
        </p>
      ) : null}
      <ActionResult action={reauth} busyLabel="Waiting for the authorization window" errorTitle="Reauthorize failed">
        {(message) => <p className="notice" role="status">{message}</p>}
      </ActionResult>
      <ActionResult action={authping} busyLabel="Running authping" errorTitle="Authping failed">
        {(result) => <AuthpingView result={result} />}
      </ActionResult>
      <ActionResult action={revoke} busyLabel="Revoking at the provider" errorTitle="Test revoke failed">
        {(result) => <RevokeOutcomeView outcome={result} title="Test revoke" />}
      </ActionResult>
      <ActionResult action={remove} busyLabel="Deleting and revoking" errorTitle="Delete failed">
        {() => null}
      </ActionResult>
      <ConfirmDialog
        open={confirming}
        title={`Delete “${instance.name}”?`}
        confirmLabel="Delete and revoke"
        danger
        onCancel={() => setConfirming(false)}
        onConfirm={async () => {
          setConfirming(false);
          const result = await runRemove(() => api.del<RevokeOutcome>(path));
          if (result !== undefined) onDeleted(result, instance.name);
        }}
      >
        <p>
          Plugboard revokes the token at {element.name} ({revocationLabel(revocationStyle(element))}), destroys the stored
          secrets at once and deletes the connection. This cannot be undone.
        </p>
      </ConfirmDialog>
    </li>
  );
}

function ActionResult<T>({ action, busyLabel, errorTitle, children }: { action: Action<T>; busyLabel: string; errorTitle: string; children: (result: T) => ReactNode }) {
  if (action.status === 'busy')
    return (
      <p className="loading" role="status">
        <span className="spinner" aria-hidden="true" /> {busyLabel}…
      </p>
    );
  if (action.status === 'error') return <ErrorPanel error={action.error} title={errorTitle} />;
  if (action.status === 'done') return <>{children(action.result)}</>;
  return null;
}

/** Reads and clears the hosted callback's report (`?instanceId=&status=` or `?error=`) left on the URL by a redirect. */
function useRedirectReport(): CallbackReport | null {
  const [report] = useState(() => readCallbackReport(window.location.search));
  useEffect(() => {
    if (report !== null) {
      const url = new URL(window.location.href);
      url.search = '';
      window.history.replaceState(null, '', url);
    }
  }, [report]);
  return report;
}

export function TestConnectionsPage({ elementKey }: { elementKey: string }) {
  const element = useApi((signal) => api.get<Element>(`/elements/${encodeURIComponent(elementKey)}`, undefined, signal), [elementKey]);
  const instances = useApi(
    async (signal) => toPage<Instance>(await api.get('/instances', { element: elementKey, limit: 100 }, signal), ['instances']).items,
    [elementKey],
  );
  const [creating, setCreating] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<{ outcome: RevokeOutcome; name: string } | null>(null);
  const report = useRedirectReport();

  return (
    <section>
      <p className="breadcrumb">
        <a href={href(['connectors'])}>Connectors</a> / <a href={href(['connectors', elementKey])}>{element.data?.name ?? elementKey}</a> / Test connections
      </p>
      <PageHeader title={`Test connections: ${element.data?.name ?? elementKey}`} lead="Create, re-authenticate, ping and revoke connections without deploying anything.">
        {element.data !== undefined ? (
          <button type="button" className="button" onClick={() => setCreating(true)} aria-expanded={creating}>
            + New Connection
          </button>
        ) : null}
      </PageHeader>
      {report !== null && report.kind === 'error' ? (
        <ErrorPanel error={new ApiError(0, { code: report.code, message: report.message })} title="The authorization did not complete" />
      ) : null}
      {report !== null && report.kind !== 'error' ? (
        <p className="notice" role="status">
          {report.kind === 'reauthenticated' ? 'Re-authenticated in place' : 'Connected'}: connection <code>{report.instanceId}</code>.
        </p>
      ) : null}
      {message !== null ? (
        <p className="notice" role="status">
          {message}
        </p>
      ) : null}
      <Async state={element} loadingLabel="Loading connector">
        {(loaded) => (
          <>
            {creating ? (
              <NewConnectionForm
                element={loaded}
                onCancel={() => setCreating(false)}
                onCreated={(text) => {
                  setCreating(false);
                  setMessage(text);
                  instances.reload();
                }}
              />
            ) : null}
            {deleted !== null ? (
              <div className="card">
                <h2>Deleted “{deleted.name}”</h2>
                <RevokeOutcomeView outcome={deleted.outcome} title="Revocation on delete" />
              </div>
            ) : null}
            <h2>Connections</h2>
            <Async state={instances} isEmpty={(items) => items.length === 0} empty={<>No connections to {loaded.name} yet. Use + New Connection to make one.</>} loadingLabel="Loading connections">
              {(items) => (
                <ul className="connection-list" aria-label="Connections">
                  {items.map((instance) => (
                    <ConnectionCard
                      key={instance.id}
                      element={loaded}
                      instance={instance}
                      onChanged={instances.reload}
                      onDeleted={(outcome, name) => {
                        setMessage(null);
                        setDeleted({ outcome, name });
                        instances.reload();
                      }}
                    />
                  ))}
                </ul>
              )}
            </Async>
          </>
        )}
      </Async>
    </section>
  );
}

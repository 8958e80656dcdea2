/**
 * Building blocks shared by every page: the `useApi` hook (loading, data, error, reload for one API call), the
 * `useSubmit` hook (busy and error state of a form's submission), the loading / empty / error panels, status badges,
 * a redacting JSON viewer, a confirmation dialog on the native `<dialog>` element, and date formatting. Everything
 * renders real buttons and labelled inputs so the console works from the keyboard.
 */
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { ApiError } from './api.ts';
import { redact, redactText } from './redaction.ts';

export type AsyncState<T> =
  | { status: 'loading'; data?: T; error?: undefined }
  | { status: 'ok'; data: T; error?: undefined }
  | { status: 'error'; data?: T; error: ApiError };

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, { code: 'CONSOLE_ERROR', message: error instanceof Error ? error.message : String(error) });
}

/**
 * A form's submission: `run(action)` marks the form busy and clears the last error while `action` runs, and keeps the
 * error it throws for an `ErrorPanel`. `setError` reports a check made before anything is sent.
 */
export function useSubmit(): {
  busy: boolean;
  error: ApiError | null;
  setError: (error: ApiError | null) => void;
  run: (action: () => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(toApiError(caught));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

/** Runs `load` now and whenever `deps` change; `reload()` runs it again, keeping the old data visible meanwhile. */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): AsyncState<T> & { reload: () => void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  // The caller names what the request depends on, as with useEffect.
  const run = useCallback(load, deps);
  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ status: 'loading', data: previous.data }));
    run(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: 'ok', data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((previous) => ({ status: 'error', data: previous.data, error: toApiError(error) }));
      },
    );
    return () => controller.abort();
  }, [run, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** The server's error body in full: code, message, request id, located details and the provider's message. */
export function ErrorPanel({ error, title, onRetry }: { error: ApiError; title?: string; onRetry?: () => void }) {
  return (
    <div className="error-panel" role="alert">
      <p className="error-title">
        <strong>{title ?? 'The request failed'}</strong> <code className="error-code">{error.code}</code>
        {error.status > 0 ? <span className="muted"> HTTP {error.status}</span> : null}
      </p>
      <p className="error-message">{redactText(error.message)}</p>
      {error.details !== undefined && error.details.length > 0 ? (
        <ul className="error-details">
          {error.details.map((detail, index) => (
            <li key={index}>
              <code>{detail.path}</code>: {redactText(detail.message)}
            </li>
          ))}
        </ul>
      ) : null}
      {error.providerMessage !== undefined ? (
        <details>
          <summary>Provider message</summary>
          <JsonView value={error.providerMessage} />
        </details>
      ) : null}
      {error.requestId !== undefined ? (
        <p className="muted small">
          Request id <code>{error.requestId}</code>
        </p>
      ) : null}
      {onRetry !== undefined ? (
        <button type="button" className="button secondary" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/**
 * Renders an AsyncState: a spinner while loading the first time, the error panel on failure (with the stale data
 * below it when there is some), the empty message when `isEmpty(data)`, else `children(data)`.
 */
export function Async<T>({
  state,
  children,
  isEmpty,
  empty,
  loadingLabel,
}: {
  state: AsyncState<T> & { reload: () => void };
  children: (data: T) => ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  loadingLabel?: string;
}) {
  const body =
    state.data === undefined ? null : isEmpty !== undefined && isEmpty(state.data) ? <Empty>{empty}</Empty> : children(state.data);
  return (
    <>
      {state.status === 'loading' && state.data === undefined ? <Loading label={loadingLabel} /> : null}
      {state.status === 'error' ? <ErrorPanel error={state.error} onRetry={state.reload} /> : null}
      <div aria-busy={state.status === 'loading'}>{body}</div>
    </>
  );
}

const STATUS_LABELS: Record<string, string> = {
  active: 'Active',
  invalid: 'Invalid',
  disabled: 'Disabled',
  revoked: 'Revoked',
};

export function StatusBadge({ status }: { status: string }) {
  const known = status in STATUS_LABELS;
  return <span className={`badge badge-${known ? status : 'other'}`}>{STATUS_LABELS[status] ?? status}</span>;
}

/** A neutral or coloured pill for booleans and job states. */
export function Pill({ tone, children }: { tone: 'good' | 'bad' | 'warn' | 'neutral'; children: ReactNode }) {
  return <span className={`pill pill-${tone}`}>{children}</span>;
}

export function JsonView({ value, label }: { value: unknown; label?: string }) {
  const text = value === undefined ? 'undefined' : redactText(JSON.stringify(redact(value), null, 2) ?? 'null');
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

export function formatDate(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function Time({ value }: { value: string | null | undefined }) {
  if (value === null || value === undefined || value === '') return <span className="muted">—</span>;
  return <time dateTime={value}>{formatDate(value)}</time>;
}

/**
 * A modal confirmation on the native `<dialog>`: focus moves into it, Escape cancels, and focus returns to the
 * opener. `onConfirm` runs only on the explicit confirm button.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="actions">
        <button type="button" className="button secondary" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <button type="button" className={danger === true ? 'button danger' : 'button'} onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A definition list row that hides itself when there is nothing to show. */
export function Row({ label, children }: { label: string; children: ReactNode }) {
  if (children === null || children === undefined || children === '') return null;
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** An http(s) link opened in a new tab without leaking the console's URL; anything else is shown as plain text. */
export function ExternalLink({ url }: { url: string }) {
  let safe = false;
  try {
    const parsed = new URL(url);
    safe = parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch {
    safe = false;
  }
  if (!safe) return <code>{url}</code>;
  return (
    <a href={url} target="_blank" rel="noopener noreferrer">
      {url}
    </a>
  );
}

export function PageHeader({ title, children, lead }: { title: string; children?: ReactNode; lead?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1 tabIndex={-1} data-page-title>
          {title}
        </h1>
        {lead !== undefined ? <p className="lead">{lead}</p> : null}
      </div>
      {children !== undefined ? <div className="page-actions">{children}</div> : null}
    </div>
  );
}

/** The Plugboard mark: a plug socket drawn in SVG (no icon font or image download). */
export function BrandMark() {
  return (
    <svg className="brand-mark" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <rect x="2" y="2" width="20" height="20" rx="6" fill="currentColor" />
      <circle cx="8.5" cy="10" r="2" fill="var(--surface)" />
      <circle cx="15.5" cy="10" r="2" fill="var(--surface)" />
      <rect x="10" y="15" width="4" height="3" rx="1" fill="var(--surface)" />
    </svg>
  );
}

/** A scrollable table with a visually hidden caption and a header row; `children` are the body rows. */
export function Table({ caption, columns, children }: { caption: string; columns: string[]; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

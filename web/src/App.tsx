/**
 * The console shell: sign-in gate, header with navigation, and the page chosen by the hash route. When the server
 * rejects the stored key the session is cleared and the sign-in page returns. Focus moves to each page's heading on
 * navigation so keyboard and screen-reader users land on the new content.
 */
import { useEffect, useRef, useState } from 'react';
import { BrandMark } from './components.tsx';
import { onUnauthenticated } from './api.ts';
import { OAUTH_DONE_MESSAGE, POPUP_MARKER } from './connect.ts';
import { href, useRoute } from './router.ts';
import type { Route } from './router.ts';
import { clearApiKey, keyFingerprint, readApiKey } from './session.ts';
import { SignIn } from './pages/SignIn.tsx';
import { ConnectorsPage } from './pages/Connectors.tsx';
import { ConnectorPage } from './pages/Connector.tsx';
import { TestConnectionsPage } from './pages/TestConnections.tsx';
import { ConnectionsPage } from './pages/Connections.tsx';
import { ConnectionPage } from './pages/Connection.tsx';
import { ExecutionsPage } from './pages/Executions.tsx';
import { ExecutionPage } from './pages/Execution.tsx';
import { ErasureRequestsPage } from './pages/ErasureRequests.tsx';
import { ErasureReceiptPage } from './pages/ErasureReceipt.tsx';
import { WebhooksPage } from './pages/Webhooks.tsx';

const NAV: { section: string; label: string }[] = [
  { section: 'connectors', label: 'Connectors' },
  { section: 'connections', label: 'Connections' },
  { section: 'executions', label: 'Executions' },
  { section: 'erasure', label: 'Erasure requests' },
  { section: 'webhooks', label: 'Webhooks' },
];

function CurrentPage({ route }: { route: Route }) {
  const [section, id, sub] = route.segments;
  switch (section) {
    case undefined:
    case 'connectors':
      if (id === undefined) return <ConnectorsPage />;
      if (sub === 'test') return <TestConnectionsPage elementKey={id} />;
      return <ConnectorPage elementKey={id} />;
    case 'connections':
      if (id === undefined) return <ConnectionsPage query={route.query} />;
      return <ConnectionPage instanceId={id} />;
    case 'executions':
      if (id === undefined) return <ExecutionsPage query={route.query} />;
      return <ExecutionPage executionId={id} />;
    case 'erasure':
      if (id === undefined) return <ErasureRequestsPage />;
      return <ErasureReceiptPage requestId={id} />;
    case 'webhooks':
      return <WebhooksPage />;
    default:
      return (
        <div>
          <h1 tabIndex={-1} data-page-title>
            Page not found
          </h1>
          <p>
            There is no console page at <code>#/{route.segments.join('/')}</code>. <a href={href(['connectors'])}>Go to connectors</a>.
          </p>
        </div>
      );
  }
}

/**
 * The console reloaded inside the OAuth popup (the hosted callback returned to a URL marked with POPUP_MARKER): hand
 * the callback's report to the opener and close. When the opener is gone (closed, or cut off by the provider's
 * opener policy) the popup says so and offers to continue here.
 */
function PopupFinish() {
  const [handedOver] = useState(() => {
    const opener = window.opener as Window | null;
    if (opener === null) return false;
    try {
      opener.postMessage({ type: OAUTH_DONE_MESSAGE, search: window.location.search }, window.location.origin);
    } catch {
      return false;
    }
    window.setTimeout(() => window.close(), 50);
    return true;
  });
  const continueHere = () => {
    const url = new URL(window.location.href);
    url.searchParams.delete(POPUP_MARKER);
    window.location.replace(url.toString());
  };
  return (
    <main className="signin" id="main">
      <div className="card" role="status">
        <p>{handedOver ? 'Authorization finished. This window closes by itself.' : 'Authorization finished, but the console window that started it is gone.'}</p>
        <button type="button" className="button secondary" onClick={continueHere}>
          Continue in this window
        </button>
      </div>
    </main>
  );
}

export function App() {
  const [inPopup] = useState(() => new URLSearchParams(window.location.search).has(POPUP_MARKER));
  return inPopup ? <PopupFinish /> : <Console />;
}

function Console() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => readApiKey() !== null);
  const [fingerprint, setFingerprint] = useState<string | null>(null);
  const [expired, setExpired] = useState(false);

  useEffect(
    () =>
      onUnauthenticated(() => {
        setExpired(true);
        setSignedIn(false);
      }),
    [],
  );

  useEffect(() => {
    const key = readApiKey();
    if (!signedIn || key === null) {
      setFingerprint(null);
      return;
    }
    let cancelled = false;
    keyFingerprint(key).then(
      (value) => {
        if (!cancelled) setFingerprint(value);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [signedIn]);

  // On navigation (not on the first load, where the skip link should come first), focus moves to the new page's
  // heading so keyboard and screen-reader users start at the new content.
  const routeKey = route.segments.join('/');
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const timer = window.setTimeout(() => {
      const heading = document.querySelector<HTMLElement>('[data-page-title]');
      const active = document.activeElement;
      if (heading !== null && (active === null || active === document.body || active.closest('nav') !== null || !active.isConnected)) {
        heading.focus({ preventScroll: true });
      }
    }, 0);
    return () => window.clearTimeout(timer);
  }, [routeKey, signedIn]);

  if (!signedIn) {
    return (
      <SignIn
        expired={expired}
        onSignedIn={() => {
          setExpired(false);
          setSignedIn(true);
        }}
      />
    );
  }

  const section = route.segments[0] ?? 'connectors';
  return (
    <div className="shell">
      <a className="skip-link" href="#main" onClick={(event) => {
        event.preventDefault();
        document.getElementById('main')?.focus();
      }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href(['connectors'])}>
          <BrandMark /> Plugboard
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.section}>
                <a href={href([item.section])} aria-current={section === item.section ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          {fingerprint !== null ? <span className="muted small" title="A hash of the API key in use">{fingerprint}</span> : null}
          <button
            type="button"
            className="button secondary small"
            onClick={() => {
              clearApiKey();
              setSignedIn(false);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <CurrentPage route={route} />
      </main>
    </div>
  );
}

/**
 * Sign in with an organization API key. The key is checked against the API before it is kept (in sessionStorage
 * only), the input is a password field that the browser is asked not to remember, and the key is never shown again.
 */
import { useState } from 'react';
import type { FormEvent } from 'react';
import { ApiError, request } from '../api.ts';
import { BrandMark, ErrorPanel, useSubmit } from '../components.tsx';
import { storeApiKey } from '../session.ts';

export function SignIn({ onSignedIn, expired }: { onSignedIn: () => void; expired: boolean }) {
  const [key, setKey] = useState('');
  const { busy, error, setError, run } = useSubmit();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = key.trim();
    if (trimmed === '') {
      setError(new ApiError(0, { code: 'KEY_REQUIRED', message: 'Enter an API key to sign in.' }));
      return;
    }
    await run(async () => {
      await request('GET', '/elements', { apiKey: trimmed });
      storeApiKey(trimmed);
      setKey('');
      onSignedIn();
    });
  }

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={submit} noValidate>
        <h1 tabIndex={-1} data-page-title>
          <BrandMark /> Plugboard console
        </h1>
        <p className="lead">Sign in with an organization API key.</p>
        {expired ? (
          <p className="notice" role="status">
            The server no longer accepts the key this tab was using. Sign in again.
          </p>
        ) : null}
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          aria-describedby="api-key-hint"
          aria-invalid={error !== null}
          autoFocus
        />
        <p id="api-key-hint" className="hint">
          On first start the server writes an admin key to <code>data/admin-credentials</code> in its working
          directory. The key stays in this tab only and is cleared when the tab closes.
        </p>
        {error !== null ? <ErrorPanel error={error} title="Sign-in failed" /> : null}
        <button type="submit" className="button" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

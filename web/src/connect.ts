/**
 * Starting an OAuth 2.0 authorization from the console, through the public API only: ask Plugboard for the
 * authorization URL (`GET /elements/{key}/oauth/url`, which binds a one-time state and PKCE verifier to this
 * organization), then send the person there in a popup or by redirecting this tab. The provider returns to
 * Plugboard's hosted callback (`/oauth/callback`), which creates the connection (or re-authenticates the one the
 * state was made for) and then redirects to the console page named by `returnUrl` with `instanceId` and `status`, or
 * `error` and `error_description`. In a popup, that console page hands the report to its opener and closes.
 */
import { ApiError, api } from './api.ts';

export type OAuthMode = 'popup' | 'redirect';

export interface OAuthStart {
  elementKey: string;
  /** Re-authenticate this connection in place instead of creating a new one. */
  instanceId?: string;
  name?: string;
  externalUserId?: string;
  tags?: string[];
  configuration?: Record<string, string>;
  /** The console page to come back to after the hosted callback. */
  returnHash: string;
}

export interface OAuthUrlAnswer {
  oauthUrl: string;
  state?: string;
  element?: string | { key: string };
}

export const OAUTH_POPUP_NAME = 'plugboard-oauth';
export const OAUTH_DONE_MESSAGE = 'plugboard.oauth.done';
/** Marks a return URL as the end of a popup authorization (the callback keeps it and appends its own parameters). */
export const POPUP_MARKER = 'pbPopup';

/** The console URL the hosted callback returns to: the given hash route, marked when the flow runs in a popup. */
export function returnUrlFor(hash: string, mode: OAuthMode): string {
  const url = new URL('/', window.location.origin);
  if (mode === 'popup') url.searchParams.set(POPUP_MARKER, '1');
  url.hash = hash.startsWith('#') ? hash.slice(1) : hash;
  return url.toString();
}

/**
 * Asks for the authorization URL. No `callbackUrl` is sent, so the provider returns to Plugboard's hosted callback,
 * which exchanges the code itself; the console only learns the outcome (`instanceId`, `status` or `error`).
 */
export async function requestOAuthUrl(start: OAuthStart, mode: OAuthMode): Promise<OAuthUrlAnswer> {
  return api.get<OAuthUrlAnswer>(`/elements/${encodeURIComponent(start.elementKey)}/oauth/url`, {
    returnUrl: returnUrlFor(start.returnHash, mode),
    instanceId: start.instanceId,
    name: start.name,
    externalUserId: start.externalUserId,
    tags: start.tags !== undefined && start.tags.length > 0 ? start.tags.join(',') : undefined,
    configuration: start.configuration !== undefined && Object.keys(start.configuration).length > 0 ? JSON.stringify(start.configuration) : undefined,
  });
}

/** What the hosted callback reported on the return URL. */
export type CallbackReport =
  | { kind: 'connected' | 'reauthenticated'; instanceId: string }
  | { kind: 'error'; code: string; message: string };

export function readCallbackReport(search: string): CallbackReport | null {
  const params = new URLSearchParams(search);
  const error = params.get('error');
  if (error !== null) {
    return { kind: 'error', code: error.toUpperCase(), message: params.get('error_description') ?? 'The authorization did not complete.' };
  }
  const instanceId = params.get('instanceId');
  if (instanceId === null) return null;
  return { kind: params.get('status') === 'reauthenticated' ? 'reauthenticated' : 'connected', instanceId };
}

/**
 * Opens the authorization URL in a popup and resolves with the callback's report once the console page the callback
 * returns to (inside the popup) posts it, or with null when the popup is closed without one. Rejects when the
 * browser blocks the popup, so the caller can offer the redirect instead.
 */
export function authorizeInPopup(oauthUrl: string): Promise<CallbackReport | null> {
  const popup = window.open(oauthUrl, OAUTH_POPUP_NAME, 'popup=yes,width=620,height=720');
  if (popup === null) {
    return Promise.reject(
      new ApiError(0, { code: 'POPUP_BLOCKED', message: 'The browser blocked the sign-in popup. Allow popups for this site or choose "Redirect this tab".' }),
    );
  }
  return new Promise((resolve) => {
    function finish(report: CallbackReport | null) {
      window.clearInterval(timer);
      window.removeEventListener('message', onMessage);
      resolve(report);
    }
    function onMessage(event: MessageEvent) {
      if (event.origin !== window.location.origin || event.source !== popup) return;
      const data = event.data as { type?: unknown; search?: unknown } | null;
      if (data?.type !== OAUTH_DONE_MESSAGE || typeof data.search !== 'string') return;
      finish(readCallbackReport(data.search));
    }
    const timer = window.setInterval(() => {
      if (popup.closed) finish(null);
    }, 400);
    window.addEventListener('message', onMessage);
  });
}

/**
 * Starting an OAuth 2.0 authorization from the console, through the public API only: ask Plugboard for the
 * authorization URL (`GET /elements/{key}/oauth/url`, which binds a one-time state and PKCE verifier to this
 * organization), then send the person there in a popup or by redirecting this tab. The provider returns to
 * Plugboard's hosted callback (`/oauth/callback`), which creates the connection (or re-authenticates the one the
 * state was made for) and then returns to the console page named by `returnUrl`.
 */
import { api } from './api.ts';

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

export function hostedCallbackUrl(): string {
  return new URL('/oauth/callback', window.location.origin).toString();
}

export function returnUrlFor(hash: string): string {
  const url = new URL('/', window.location.origin);
  url.hash = hash.startsWith('#') ? hash.slice(1) : hash;
  return url.toString();
}

export async function requestOAuthUrl(start: OAuthStart): Promise<OAuthUrlAnswer> {
  return api.get<OAuthUrlAnswer>(`/elements/${encodeURIComponent(start.elementKey)}/oauth/url`, {
    callbackUrl: hostedCallbackUrl(),
    returnUrl: returnUrlFor(start.returnHash),
    instanceId: start.instanceId,
    name: start.name,
    externalUserId: start.externalUserId,
    tags: start.tags !== undefined && start.tags.length > 0 ? start.tags.join(',') : undefined,
    configuration: start.configuration !== undefined && Object.keys(start.configuration).length > 0 ? JSON.stringify(start.configuration) : undefined,
  });
}

/**
 * Opens the authorization URL in a popup and resolves when the popup is closed (by the person, or by the console
 * page the callback returns to). Rejects when the browser blocks the popup, so the caller can offer the redirect.
 */
export function authorizeInPopup(oauthUrl: string, signal?: AbortSignal): Promise<void> {
  const popup = window.open(oauthUrl, OAUTH_POPUP_NAME, 'popup=yes,width=620,height=720');
  if (popup === null) return Promise.reject(new Error('The browser blocked the sign-in popup. Allow popups for this site or use "Redirect this tab".'));
  return new Promise((resolve) => {
    const timer = window.setInterval(() => {
      if (popup.closed || signal?.aborted === true) {
        window.clearInterval(timer);
        window.removeEventListener('message', onMessage);
        resolve();
      }
    }, 400);
    // The console page the callback returns to (inside the popup) announces completion and closes itself.
    function onMessage(event: MessageEvent) {
      if (event.origin !== window.location.origin || event.data?.type !== OAUTH_DONE_MESSAGE) return;
      window.clearInterval(timer);
      window.removeEventListener('message', onMessage);
      resolve();
    }
    window.addEventListener('message', onMessage);
  });
}

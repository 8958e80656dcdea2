/**
 * A tiny router on `location.hash` (`#/connections/abc?status=active`). Hash routes need no server configuration and
 * survive the OAuth redirect round trip; the server's SPA fallback still serves deep links without a hash.
 */
import { useEffect, useState } from 'react';

export interface Route {
  /** Path segments after `#/`, decoded: `#/connectors/box/test` gives `['connectors', 'box', 'test']`. */
  segments: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const questionMark = raw.indexOf('?');
  const path = questionMark === -1 ? raw : raw.slice(0, questionMark);
  const search = questionMark === -1 ? '' : raw.slice(questionMark + 1);
  const segments = path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  return { segments, query: new URLSearchParams(search) };
}

/** Builds a hash link from segments and an optional query, encoding each segment. */
export function href(segments: string[], query?: Record<string, string | undefined>): string {
  const path = segments.map((segment) => encodeURIComponent(segment)).join('/');
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined && value !== '') params.set(name, value);
  const search = params.toString();
  return `#/${path}${search === '' ? '' : `?${search}`}`;
}

export function navigate(target: string): void {
  window.location.hash = target.startsWith('#') ? target.slice(1) : target;
}

/** Replaces the current history entry (filters changing should not flood the back button). */
export function replaceRoute(target: string): void {
  const url = new URL(window.location.href);
  url.hash = target.startsWith('#') ? target.slice(1) : target;
  window.history.replaceState(null, '', url);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

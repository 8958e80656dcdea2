/**
 * The signed-in session: the organization API key, kept in sessionStorage only (it dies with the tab and is never
 * written to localStorage, a cookie or the URL). The key is read by the API client and never rendered back; the
 * console shows only a short fingerprint so a person can tell two keys apart.
 */

const STORAGE_KEY = 'plugboard.apiKey';

export function readApiKey(): string | null {
  try {
    const value = sessionStorage.getItem(STORAGE_KEY);
    return value !== null && value !== '' ? value : null;
  } catch {
    return null; // storage disabled: behave as signed out
  }
}

export function storeApiKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function clearApiKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/**
 * A non-reversible hint of which key is in use (the first bytes of its SHA-256), never any character of the key.
 * Web Crypto exists only in secure contexts (https or loopback); elsewhere no hint is shown.
 */
export async function keyFingerprint(key: string): Promise<string | null> {
  if (typeof crypto === 'undefined' || crypto.subtle === undefined) return null;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  const hex = Array.from(new Uint8Array(digest).slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  return `key ${hex}`;
}

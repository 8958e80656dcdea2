/**
 * Display-side redaction. The API already withholds secrets; the console adds a second fence so that a value under a
 * secret-looking key (tokens, passwords, client secrets, Authorization headers) is shown as `[redacted]` even if a
 * provider echoes it inside a service response or an execution's card output.
 */

const SECRET_KEY =
  /((access|refresh|id|instance|user|org)[_-]?token|client[_-]?secret|api[_-]?key|private[_-]?key|code[_-]?verifier|password|passwd|secret)$|^(token|authorization|proxy-authorization|cookie|set-cookie|assertion)$/i;

export const REDACTED = '[redacted]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Deep copy of `value` with every secret-keyed entry replaced; bounded depth so a hostile body cannot hang the tab. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 40) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
      copy[key] = isSecretKey(key) && entry !== null && entry !== '' && entry !== REDACTED ? REDACTED : redact(entry, depth + 1);
    }
    return copy;
  }
  return value;
}

/** Redacts a bearer or basic credential inside a free-text string (e.g. an echoed header line). */
export function redactText(text: string): string {
  return text.replace(/\b(Bearer|Basic|Element|User|Organization)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`);
}

/**
 * The process logger: pino, JSON lines, with secrets removed twice over. pino's `redact` censors fields by path
 * (Authorization and Cookie headers, tokens, codes, client secrets, API keys, passwords) and a final pass over each
 * serialised line scrubs every secret value the process knows (see crypto/redaction.ts), so a token that slipped into
 * a message string or an error from a provider is still not written.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './config.ts';
import { REDACTED, pinoRedactPaths, type SecretScrubber } from './crypto/redaction.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LogLevel;
  scrubber: SecretScrubber;
  /** Where lines go (default stdout); tests pass a stream that collects them. */
  stream?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const { scrubber } = options;
  return pino(
    {
      level: options.level,
      base: { service: 'plugboard' },
      redact: { paths: pinoRedactPaths(), censor: REDACTED },
      hooks: {
        streamWrite: (line) => scrubber.scrub(line),
      },
      serializers: {
        err: pino.stdSerializers.err,
        req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: req.url === undefined ? undefined : scrubber.scrub(redactQuery(req.url)), id: req.id }),
      },
    },
    options.stream ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** Hides query parameters whose names say they hold secrets (`?code=...&state=...` on an OAuth callback). */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (/^(code|token|access_token|refresh_token|id_token|client_secret|password|secret|api_key|apikey|api_?secret|state)$/i.test(key)) {
      params.set(key, REDACTED);
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

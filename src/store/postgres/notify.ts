/**
 * Credential notices on PostgreSQL. The triggers of migration 0009 send `pg_notify` on `plugboard_credentials` in
 * the transaction of every write that can change a cached credential (payload `api_key:<id>`, `user:<id>`,
 * `organization:<id>`, or `all`: ids only). Each store keeps one dedicated `pg` client, outside the Kysely pool, that
 * LISTENs on the channel and drops the matching entries of the store's API key cache as notices arrive.
 *
 * The cache serves entries only while the listener is live, that is from the moment LISTEN is in place on a connection
 * until that connection is lost: before the first connection, and from a loss until LISTEN is in place again on a new
 * connection, every authentication reads the store, and each change of state empties the cache (notices sent while
 * nobody listened are lost, so nothing read before can be trusted). A lost connection is reconnected with exponential
 * backoff and jitter. A heartbeat query detects a connection that died without a word (its queries time out); until it
 * does, the cache's own bound (API_KEY_CACHE_MS) still applies. `close()` stops the listener without waiting on a
 * dead server.
 */
import pg from 'pg';
import type { Kysely } from 'kysely';
import { endsWithin } from '../../core/deadline.ts';
import { dropCachedCredentials, setKeyCacheLive, type CredentialNotice } from '../api-keys.ts';

export const CREDENTIALS_CHANNEL = 'plugboard_credentials';

/** Reconnection delays: the first retry after about MIN, doubling up to MAX (each with up to 25% less, at random). */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
/** A query on the listening connection this often; one not answered within the timeout counts as a lost connection. */
const HEARTBEAT_MS = 5_000;
const QUERY_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** `close()` does not wait longer than this for the server to acknowledge the end of the connection. */
const CLOSE_BOUND_MS = 2_000;

/** What a payload asks to drop; anything not understood drops everything (the safe reading). */
export function parseCredentialNotice(payload: string | undefined): CredentialNotice {
  const separator = payload?.indexOf(':') ?? -1;
  if (payload === undefined || separator <= 0 || separator === payload.length - 1) return { kind: 'all' };
  const kind = payload.slice(0, separator);
  const id = payload.slice(separator + 1);
  if (kind === 'api_key' || kind === 'user' || kind === 'organization') return { kind, id };
  return { kind: 'all' };
}

/** Where the listener reports; a pino logger fits. */
export interface ListenerLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface CredentialListenerOptions {
  connectionString: string;
  onNotice(notice: CredentialNotice): void;
  /** True once LISTEN is in place on a (new) connection; false as soon as that connection is lost, and on close. */
  onLive(live: boolean): void;
  log?: ListenerLog;
}

export class CredentialListener {
  readonly #options: CredentialListenerOptions;
  #client: pg.Client | undefined;
  #live = false;
  /** Whether LISTEN was ever in place: the next time it is, that is a reconnection. */
  #everLive = false;
  #closed = false;
  #failures = 0;
  #reconnects = 0;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: CredentialListenerOptions) {
    this.#options = options;
  }

  /** True while LISTEN is in place on a connection not known to be lost. */
  get listening(): boolean {
    return this.#live;
  }

  /** The server process id of the listening connection (undefined while there is none). */
  get backendPid(): number | undefined {
    const client = this.#client as (pg.Client & { processID?: number }) | undefined;
    return this.#live ? client?.processID : undefined;
  }

  /** How many times LISTEN was put back in place after a lost connection. */
  get reconnects(): number {
    return this.#reconnects;
  }

  start(): void {
    void this.#connect();
  }

  async #connect(): Promise<void> {
    this.#retry = undefined;
    if (this.#closed) return;
    const client = new pg.Client({
      connectionString: this.#options.connectionString,
      application_name: 'plugboard-credential-notices',
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
    });
    this.#client = client;
    // Until LISTEN is in place, failures reach the catch below (connection and query timeouts included); afterwards,
    // these events. The error listener stays attached for good: an unhandled 'error' would end the process.
    let listening = false;
    client.on('error', (error: Error) => {
      if (listening) this.#lost(client, error);
    });
    client.on('end', () => {
      if (listening) this.#lost(client, new Error('the listening connection ended'));
    });
    client.on('notification', (message) => {
      if (client === this.#client && this.#live && message.channel === CREDENTIALS_CHANNEL) this.#options.onNotice(parseCredentialNotice(message.payload));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CREDENTIALS_CHANNEL}`);
    } catch (error) {
      this.#lost(client, error);
      return;
    }
    if (client !== this.#client) return;
    listening = true;
    const reconnected = this.#everLive;
    this.#failures = 0;
    if (reconnected) this.#reconnects++;
    this.#everLive = true;
    this.#live = true;
    this.#options.onLive(true);
    if (reconnected) this.#options.log?.info({ channel: CREDENTIALS_CHANNEL }, 'credential notices: listening again');
    this.#heartbeat = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => this.#lost(client, error));
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** The connection of `client` is gone (or failed to open): stop serving from the cache and try again later. */
  #lost(client: pg.Client, error: unknown): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const wasLive = this.#live;
    if (wasLive) {
      this.#live = false;
      this.#options.onLive(false);
    }
    client.end().catch(() => {});
    if (this.#closed) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.#failures, 16)) * (0.75 + Math.random() * 0.25);
    this.#failures++;
    this.#options.log?.warn(
      { err: error, channel: CREDENTIALS_CHANNEL, retryInMs: Math.round(delay) },
      wasLive ? 'credential notices: connection lost; API keys are read from the store until it is back' : 'credential notices: could not listen; API keys are read from the store until it can',
    );
    this.#retry = setTimeout(() => void this.#connect(), delay);
    this.#retry.unref();
  }

  /** Stops listening and closes the connection; bounded, whatever the state of the server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    if (this.#live) {
      this.#live = false;
      this.#options.onLive(false);
    }
    if (client === undefined) return;
    await endsWithin(client.end().catch(() => {}), CLOSE_BOUND_MS);
  }
}

const listeners = new WeakMap<object, CredentialListener>();

/** Starts the listener of a PostgreSQL store: notices drop entries of the API key cache of `db`. */
export function listenForCredentialWrites(db: Kysely<any>, connectionString: string, log?: ListenerLog): CredentialListener {
  const listener = new CredentialListener({
    connectionString,
    onNotice: (notice) => dropCachedCredentials(db, notice),
    onLive: (live) => setKeyCacheLive(db, live),
    ...(log === undefined ? {} : { log }),
  });
  listeners.set(db, listener);
  listener.start();
  return listener;
}

/** The listener of a PostgreSQL store (undefined for SQLite). */
export function credentialListenerOf(db: object): CredentialListener | undefined {
  return listeners.get(db);
}

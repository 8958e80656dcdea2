/**
 * What every thin CLI command shares: the global flags (`--url`, `--api-key`, `--json`), finding the API key
 * (flag, PLUGBOARD_API_KEY, or the `admin-credentials` file the first start wrote into the data folder), one call to
 * the REST API that turns the error body into a readable message, and printing (a table, or JSON with `--json`).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { request } from 'undici';
import { CREDENTIALS_FILE, parseCredentialsFile } from '../bootstrap.ts';

export interface ClientFlags {
  url?: string;
  apiKey?: string;
  dataDir?: string;
  json?: boolean;
}

/** Adds the shared connection flags to a command (call on each leaf command). */
export function withClientFlags(command: Command): Command {
  return command
    .option('--url <url>', 'Plugboard base URL (default: PLUGBOARD_URL or http://127.0.0.1:$PORT)')
    .option('--api-key <key>', 'API key (default: PLUGBOARD_API_KEY or <data-dir>/admin-credentials)')
    .option('--data-dir <dir>', 'data folder holding admin-credentials (default: PLUGBOARD_DATA_DIR or ./data)')
    .option('--json', 'print JSON instead of a table');
}

export class CliError extends Error {}

export function baseUrl(flags: ClientFlags, env = process.env): string {
  const url = flags.url ?? env.PLUGBOARD_URL ?? `http://127.0.0.1:${env.PORT ?? '8080'}`;
  return url.replace(/\/+$/, '');
}

export function resolveApiKey(flags: ClientFlags, env = process.env): string {
  if (flags.apiKey !== undefined) return flags.apiKey;
  if (env.PLUGBOARD_API_KEY !== undefined && env.PLUGBOARD_API_KEY !== '') return env.PLUGBOARD_API_KEY;
  const file = path.join(path.resolve(flags.dataDir ?? env.PLUGBOARD_DATA_DIR ?? './data'), CREDENTIALS_FILE);
  if (existsSync(file)) {
    const key = parseCredentialsFile(readFileSync(file, 'utf8')).PLUGBOARD_API_KEY;
    if (key !== undefined) return key;
  }
  throw new CliError(`No API key: pass --api-key, set PLUGBOARD_API_KEY, or run from the folder whose data/${CREDENTIALS_FILE} the first start wrote`);
}

/** One REST call; resolves to the parsed JSON body, or throws a CliError quoting the error body. */
export async function callApi(flags: ClientFlags, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', apiPath: string, body?: unknown): Promise<unknown> {
  const base = baseUrl(flags);
  const headers: Record<string, string> = { authorization: `Bearer ${resolveApiKey(flags)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await request(`${base}${apiPath}`, { method, headers, body: body === undefined ? null : JSON.stringify(body), headersTimeout: 30_000, bodyTimeout: 30_000 });
  } catch (error) {
    throw new CliError(`cannot reach Plugboard at ${base} (${error instanceof Error ? error.message : String(error)}); start it with "npm start" or pass --url`);
  }
  const text = await response.body.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${base} answered HTTP ${response.statusCode} with a non-JSON body: is it a Plugboard server?`);
    }
  }
  if (response.statusCode >= 400) {
    const e = (parsed ?? {}) as { code?: string; message?: string; requestId?: string; details?: Array<{ path: string; message: string }> };
    const details = (e.details ?? []).map((d) => `\n  ${d.path}: ${d.message}`).join('');
    throw new CliError(`HTTP ${response.statusCode} ${e.code ?? ''}: ${e.message ?? text}${details}${e.requestId === undefined ? '' : ` (request ${e.requestId})`}`);
  }
  return parsed;
}

/** Prints rows as an aligned table, or `data` as JSON with --json. */
export function output(flags: ClientFlags, data: unknown, rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  process.stdout.write(`${[line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n')}\n`);
}

/** Runs an action, turning a CliError into one line on stderr and exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      process.stderr.write(`plugboard: ${error.message}\n`);
      process.exitCode = 1;
    }
  };
}

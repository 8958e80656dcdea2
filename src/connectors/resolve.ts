/**
 * Which connector an organization sees under a key, and its OAuth app. An organization's private connector (the live,
 * highest version) comes first, then the built-in catalogue. Private definitions are re-validated and compiled once per
 * version and kept in a bounded cache, so a request never parses YAML or compiles flows twice. Deploying validates,
 * compiles and only then stores a new version: a definition that fails either step never becomes live. This module
 * reads the store (private definitions, sealed OAuth apps), which is why it sits beside the registry rather than in it.
 */
import type { Kysely } from 'kysely';
import { PlugboardError } from '../core/errors.ts';
import type { CompiledConnectorFlows } from '../flows/index.ts';
import {
  insertPrivateConnectorVersion, latestPrivateConnector, listLatestPrivateConnectors, openOAuthApp, type PrivateConnectorVersion,
} from '../store/connectors.ts';
import type { SecretSealer } from '../store/connections.ts';
import type { Database } from '../store/schema.ts';
import { parseConnectorText, problemsToError, validateConnectorValue, type ParseResult } from './load.ts';
import { builtinCatalogue, compileFlows, type ConnectorEntry } from './registry.ts';
import type { ConnectorDefinition } from './schema.ts';

/** What the resolver needs from the app context (structural, so tests and other areas can pass the real one). */
export interface ConnectorContext {
  store: { db: Kysely<Database> };
  vault: SecretSealer;
}

export type ResolvedConnector = ConnectorEntry<CompiledConnectorFlows>;

const PRIVATE_CACHE_LIMIT = 512;
const privateCache = new Map<string, ResolvedConnector>();

function privateSource(orgId: string, key: string, version: number): string {
  return `org ${orgId} connector ${key} v${version}`;
}

/** A stored private version as a compiled entry (cached by org, key and version, which never change once written). */
function privateEntry(orgId: string, stored: PrivateConnectorVersion): ResolvedConnector {
  const cacheKey = `${orgId}\u0000${stored.key}\u0000${stored.version}`;
  const cached = privateCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const source = privateSource(orgId, stored.key, stored.version);
  const parsed = validateConnectorValue(stored.definition, source);
  if (!parsed.ok) throw problemsToError(parsed.problems);
  const entry: ResolvedConnector = Object.freeze({
    key: stored.key, definition: parsed.definition, origin: 'private', version: stored.version, source,
    compiled: compileFlows(parsed.definition, source),
  });
  if (privateCache.size >= PRIVATE_CACHE_LIMIT) privateCache.delete(privateCache.keys().next().value as string);
  privateCache.set(cacheKey, entry);
  return entry;
}

/** The connector the organization sees under `key`, or undefined. */
export async function findConnector(ctx: ConnectorContext, orgId: string, key: string): Promise<ResolvedConnector | undefined> {
  const stored = await latestPrivateConnector(ctx.store.db, orgId, key);
  if (stored !== undefined) return privateEntry(orgId, stored);
  return (await builtinCatalogue()).get(key);
}

/** The connector the organization sees under `key`; NOT_FOUND (naming how to list them) when there is none. */
export async function getConnector(ctx: ConnectorContext, orgId: string, key: string): Promise<ResolvedConnector> {
  const entry = await findConnector(ctx, orgId, key);
  if (entry === undefined) {
    throw new PlugboardError('NOT_FOUND', `No connector ${key} in this organization.`, {
      details: [{ path: 'element.key', message: 'expected the key of a built-in or deployed connector (GET /elements lists them)' }],
    });
  }
  return entry;
}

/** Every connector the organization sees: its private ones, then the built-ins whose keys they do not take; by key. */
export async function listConnectors(ctx: ConnectorContext, orgId: string): Promise<ResolvedConnector[]> {
  const own = (await listLatestPrivateConnectors(ctx.store.db, orgId)).map((stored) => privateEntry(orgId, stored));
  const taken = new Set(own.map((entry) => entry.key));
  const builtins = (await builtinCatalogue()).entries.filter((entry) => !taken.has(entry.key));
  return [...own, ...builtins].sort((a, b) => a.key.localeCompare(b.key));
}

/** The organization's OAuth app for a connector, decrypted, for server-side use only; null when none is set. */
export async function getOAuthApp(ctx: ConnectorContext, orgId: string, key: string): Promise<{ clientId: string; clientSecret: string } | null> {
  return openOAuthApp(ctx.store.db, ctx.vault, orgId, key);
}

export interface DeployInput {
  /** The request body: a parsed JSON object, or YAML/JSON text. */
  body: unknown;
  /** `PUT /elements/{key}`: the definition's key must match. */
  expectedKey?: string;
  /** `POST /elements`: refuse a key that already has versions. */
  mustBeNew: boolean;
  userId: string | null;
  /**
   * Whether the caller may deploy a definition with `dangerouslyAllowInsecureTargets` (the platform operator only):
   * such a connector lets flows and the proxy reach the server's own network.
   */
  mayAllowInsecureTargets: boolean;
}

/** Parses a request body (JSON object or YAML/JSON text) into a definition with located problems. */
export function parseDeployBody(body: unknown, file: string): ParseResult & { source: string; sourceFormat: 'yaml' | 'json' } {
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    const trimmed = text.trimStart();
    const sourceFormat = trimmed.startsWith('{') ? 'json' : 'yaml';
    return { ...parseConnectorText(text, file), source: text, sourceFormat };
  }
  if (body === null || body === undefined || typeof body !== 'object' || Array.isArray(body)) {
    return {
      ok: false, source: '', sourceFormat: 'json',
      problems: [{ file, path: '', message: 'expected the connector definition: a JSON object, or YAML text with Content-Type application/yaml' }],
    };
  }
  return { ...validateConnectorValue(body, file), source: JSON.stringify(body, null, 2), sourceFormat: 'json' };
}

/** Validates, compiles and stores a new version of a private connector; returns the live entry. */
export async function deployConnector(ctx: ConnectorContext, orgId: string, input: DeployInput): Promise<ResolvedConnector> {
  const file = input.expectedKey === undefined ? 'request body' : `elements/${input.expectedKey}`;
  const parsed = parseDeployBody(input.body, file);
  if (!parsed.ok) throw problemsToError(parsed.problems);
  const definition: ConnectorDefinition = parsed.definition;
  if (input.expectedKey !== undefined && definition.key !== input.expectedKey) {
    throw problemsToError([{ file, path: 'key', message: `expected "${input.expectedKey}" (the key in the URL), got "${definition.key}"` }]);
  }
  if ((await builtinCatalogue()).get(definition.key) !== undefined && (await latestPrivateConnector(ctx.store.db, orgId, definition.key)) === undefined) {
    throw new PlugboardError('CONFLICT', `${definition.key} is a built-in connector; built-ins are read-only.`, {
      details: [{ path: 'key', message: `deploy your version under another key, e.g. "${definition.key}-custom"` }],
    });
  }
  const insecure = definition.dangerouslyAllowInsecureTargets;
  if ((insecure.plainHttp || insecure.privateNetwork) && !input.mayAllowInsecureTargets) {
    throw new PlugboardError('FORBIDDEN', 'Only the platform operator (platform:admin) may deploy a connector that reaches plain-HTTP or private-network targets.', {
      details: [{ path: 'dangerouslyAllowInsecureTargets', message: 'remove the opt-in (set plainHttp and privateNetwork to false), or ask the operator to deploy it' }],
    });
  }
  // Compile before storing: a definition whose flows do not compile never becomes live.
  compileFlows(definition, file);
  const stored = await insertPrivateConnectorVersion(ctx.store.db, orgId, {
    key: definition.key, name: definition.name, definition, source: parsed.source, sourceFormat: parsed.sourceFormat,
    createdBy: input.userId, mustBeNew: input.mustBeNew,
  });
  return privateEntry(orgId, stored);
}

/**
 * The built-in connector catalogue: every definition in the repository's `connectors/` directory, loaded, validated
 * and compiled by the flow engine once per process. A bad built-in file is reported (with its
 * located error) and left out; it never takes the good ones down. Private connectors deployed by an organization are
 * resolved by `getConnector` in `resolve.ts`, which consults this catalogue for the built-ins.
 */

import { fileURLToPath } from 'node:url';
import { PlugboardError } from '../core/errors.ts';
import { compileConnectorFlows, type CompiledConnectorFlows } from '../flows/index.ts';
import { loadConnectorDirectory, problemsToError } from './load.ts';
import type { ConnectorDefinition } from './schema.ts';

/** The directory of built-in definitions, next to `src/` in the repository. */
export const BUILTIN_CONNECTOR_DIR = fileURLToPath(new URL('../../connectors/', import.meta.url));

/**
 * Compiles a definition's flows; throws a PlugboardError (`FLOW_COMPILE_FAILED`) with located details when a flow is
 * wrong. The flow engine provides it; the registry stays independent of the engine's internals.
 */
export type FlowCompiler<Compiled> = (definition: ConnectorDefinition, file: string) => Compiled;

export interface ConnectorEntry<Compiled = unknown> {
  key: string;
  definition: ConnectorDefinition;
  /** `builtin` for files in `connectors/`, `private` for an organization's deployed definition. */
  origin: 'builtin' | 'private';
  /** 0 for built-ins; 1, 2, ... for private versions. */
  version: number;
  /** Where the definition came from: `connectors/box.yaml`, or `org:<id>/<key>@<version>`. */
  source: string;
  /** The compiled flows, when a compiler was supplied. */
  compiled?: Compiled;
}

export interface BuiltinCatalogue<Compiled = unknown> {
  /** Good connectors, sorted by key. */
  readonly entries: readonly ConnectorEntry<Compiled>[];
  /** One located error per file that failed to load or compile. */
  readonly errors: readonly PlugboardError[];
  get(key: string): ConnectorEntry<Compiled> | undefined;
}

export interface LoadBuiltinOptions<Compiled> {
  dir?: string;
  /** Shown in error locations instead of the absolute directory. */
  displayPrefix?: string;
  compile?: FlowCompiler<Compiled>;
  /** Where the sandbox runs, when not at SANDBOX_DEFINITION_ORIGIN: the sandbox connectors are moved there. */
  sandboxOrigin?: string;
}

/**
 * The origin the built-in sandbox connectors (`connectors/sandbox*.yaml`) are written against: where `npm start` runs
 * the sandbox by default.
 */
export const SANDBOX_DEFINITION_ORIGIN = 'http://127.0.0.1:8081';

/** The built-in sandbox connectors: key `sandbox` or `sandbox-...` (files `connectors/sandbox*.yaml`). */
export function isSandboxConnectorKey(key: string): boolean {
  return key === 'sandbox' || key.startsWith('sandbox-');
}

// The exact origin, not followed by another port digit (so http://127.0.0.1:80810 is left alone).
const SANDBOX_ORIGIN_PATTERN = /http:\/\/127\.0\.0\.1:8081(?![0-9])/g;

/**
 * A copy of a sandbox connector definition with every occurrence of SANDBOX_DEFINITION_ORIGIN (in URLs, flow cards and
 * texts) replaced by `origin`. Only this exact origin is rewritten; every other string is left as written.
 */
export function moveSandboxDefinition(definition: ConnectorDefinition, origin: string): ConnectorDefinition {
  const target = new URL(origin).origin;
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replace(SANDBOX_ORIGIN_PATTERN, target);
    if (Array.isArray(value)) return value.map(rewrite);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    return value;
  };
  return rewrite(definition) as ConnectorDefinition;
}

/** Loads and (optionally) compiles a directory of definitions; never throws for a bad file. */
export async function loadCatalogue<Compiled = unknown>(options: LoadBuiltinOptions<Compiled> = {}): Promise<BuiltinCatalogue<Compiled>> {
  const dir = options.dir ?? BUILTIN_CONNECTOR_DIR;
  const { connectors, errors } = await loadConnectorDirectory(dir, options.displayPrefix ?? 'connectors');
  const entries: ConnectorEntry<Compiled>[] = [];
  const failures = [...errors];
  const sandboxOrigin = options.sandboxOrigin === undefined ? undefined : new URL(options.sandboxOrigin).origin;
  for (const loaded of connectors) {
    const { file } = loaded;
    const definition = sandboxOrigin !== undefined && sandboxOrigin !== SANDBOX_DEFINITION_ORIGIN && isSandboxConnectorKey(loaded.definition.key)
      ? moveSandboxDefinition(loaded.definition, sandboxOrigin)
      : loaded.definition;
    const entry: ConnectorEntry<Compiled> = { key: definition.key, definition, origin: 'builtin', version: 0, source: file };
    if (options.compile) {
      try {
        entry.compiled = options.compile(definition, file);
      } catch (error) {
        if (error instanceof PlugboardError) { failures.push(error); continue; }
        failures.push(problemsToError([{ file, path: 'flows', message: `the flows failed to compile: ${(error as Error).message}` }]));
        continue;
      }
    }
    entries.push(entry);
  }
  entries.sort((a, b) => a.key.localeCompare(b.key));
  const byKey = new Map(entries.map((entry) => [entry.key, entry]));
  return Object.freeze({ entries: Object.freeze(entries), errors: Object.freeze(failures), get: (key: string) => byKey.get(key) });
}

/** Compiles a definition's flows with the flow engine (cached by the engine; throws FLOW_COMPILE_FAILED, located). */
export const compileFlows: FlowCompiler<CompiledConnectorFlows> = (definition, file) =>
  compileConnectorFlows(definition.flows, { file, connectorKey: definition.key });

let builtins: Promise<BuiltinCatalogue<CompiledConnectorFlows>> | undefined;
let sandboxOrigin: string = SANDBOX_DEFINITION_ORIGIN;

/** The process-wide built-in catalogue, loaded and compiled once on first use. */
export function builtinCatalogue(): Promise<BuiltinCatalogue<CompiledConnectorFlows>> {
  builtins ??= loadCatalogue({ compile: compileFlows, sandboxOrigin });
  return builtins;
}

/**
 * Points the built-in sandbox connectors at the sandbox this process runs (`plugboard start` with SANDBOX_HOST or
 * SANDBOX_PORT other than 127.0.0.1:8081). Called before the catalogue serves anything; a later call with another
 * origin reloads the catalogue.
 */
export function useSandboxOrigin(url: string): void {
  const origin = new URL(url).origin;
  if (origin === sandboxOrigin) return;
  sandboxOrigin = origin;
  builtins = undefined;
}

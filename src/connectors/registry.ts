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
}

/** Loads and (optionally) compiles a directory of definitions; never throws for a bad file. */
export async function loadCatalogue<Compiled = unknown>(options: LoadBuiltinOptions<Compiled> = {}): Promise<BuiltinCatalogue<Compiled>> {
  const dir = options.dir ?? BUILTIN_CONNECTOR_DIR;
  const { connectors, errors } = await loadConnectorDirectory(dir, options.displayPrefix ?? 'connectors');
  const entries: ConnectorEntry<Compiled>[] = [];
  const failures = [...errors];
  for (const { file, definition } of connectors) {
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

/** The process-wide built-in catalogue, loaded and compiled once on first use. */
export function builtinCatalogue(): Promise<BuiltinCatalogue<CompiledConnectorFlows>> {
  builtins ??= loadCatalogue({ compile: compileFlows });
  return builtins;
}

/**
 * Loading connector definitions from YAML (or JSON, which is YAML) with located errors. A file either yields a whole
 * validated definition or a `CONNECTOR_INVALID` error whose details name the file, the path inside it
 * (`auth.tokenUrl`), the line and column when the parser knows them, and what is expected. Loading a directory never
 * lets one bad file take the good ones down: it returns the good connectors plus one located error per bad file.
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMap, isSeq, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { PlugboardError, type ErrorDetail } from '../core/errors.ts';
import { ConnectorDefinitionSchema, type ConnectorDefinition } from './schema.ts';

/** Definitions are small; anything bigger is a mistake or an attack on the parser. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

export interface ConnectorProblem {
  file: string;
  /** Path inside the file: `auth.tokenUrl`, `flows[1].cards[0].type`; empty for the document as a whole. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export type ParseResult =
  | { ok: true; definition: ConnectorDefinition }
  | { ok: false; problems: ConnectorProblem[] };

export interface LoadedConnector {
  file: string;
  definition: ConnectorDefinition;
}

export interface DirectoryLoadResult {
  connectors: LoadedConnector[];
  errors: PlugboardError[];
}

type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** `connectors/box.yaml:12:5 auth.tokenUrl`: the form editors and terminals turn into a link. */
function detailPath(problem: ConnectorProblem): string {
  const where = problem.line !== undefined ? `${problem.file}:${problem.line}:${problem.column ?? 1}` : problem.file;
  return problem.path === '' ? where : `${where} ${problem.path}`;
}

export function problemsToError(problems: ConnectorProblem[]): PlugboardError {
  const files = [...new Set(problems.map((p) => p.file))];
  const details: ErrorDetail[] = problems.map((p) => ({ path: detailPath(p), message: p.message }));
  const first = problems[0];
  const summary = first === undefined ? '' : ` First: ${first.path === '' ? '' : `${first.path}: `}${first.message}.`;
  return new PlugboardError(
    'CONNECTOR_INVALID',
    `The connector definition ${files.join(', ')} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}).${summary}`,
    { details },
  );
}

/** The YAML node closest to a path: the node itself, else its nearest existing ancestor. */
function locate(doc: Document, path: readonly PathSegment[], lines: LineCounter): { line: number; column: number } | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const prefix = path.slice(0, depth);
    let node: unknown = doc.contents;
    let keyRange: [number, number, number] | undefined;
    let found = true;
    for (const segment of prefix) {
      keyRange = undefined;
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair === undefined) { found = false; break; }
        if (isScalar(pair.key) && pair.key.range) keyRange = pair.key.range;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (node === undefined) { found = false; break; }
      } else { found = false; break; }
    }
    if (!found) continue;
    const range = (node as Node | null)?.range ?? keyRange;
    if (range) {
      const pos = lines.linePos(range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return undefined;
}

function messageFor(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove ${issue.keys.length === 1 ? 'it' : 'them'} or check the spelling`;
  }
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return `missing: expected ${issue.expected}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

function issuePath(issue: z.core.$ZodIssue): PathSegment[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s === 'string' || typeof s === 'number');
  if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) return [...path, issue.keys[0]];
  if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string' && path.at(-1) !== issue.discriminator) {
    return [...path, issue.discriminator];
  }
  return path;
}

/** Validates an already-parsed value (a JSON request body); problems carry paths but no line numbers. */
export function validateConnectorValue(value: unknown, file: string, doc?: Document, lines?: LineCounter): ParseResult {
  const result = ConnectorDefinitionSchema.safeParse(value);
  if (result.success) return { ok: true, definition: result.data };
  const problems = result.error.issues.map((issue): ConnectorProblem => {
    const path = issuePath(issue);
    const position = doc && lines ? locate(doc, path, lines) : undefined;
    return { file, path: formatPath(path), ...position, message: messageFor(issue) };
  });
  return { ok: false, problems };
}

/** Parses one definition from YAML or JSON text. Never throws for bad input; returns located problems. */
export function parseConnectorText(text: string, file: string): ParseResult {
  if (Buffer.byteLength(text, 'utf8') > MAX_DEFINITION_BYTES) {
    return { ok: false, problems: [{ file, path: '', message: `the file is larger than ${MAX_DEFINITION_BYTES} bytes; a connector definition is expected to be a few kilobytes` }] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true, strict: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const pos = error.linePos?.[0];
        return { file, path: '', ...(pos ? { line: pos.line, column: pos.col } : {}), message: `YAML syntax: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}` };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    return { ok: false, problems: [{ file, path: '', message: `YAML: ${(error as Error).message.split('\n')[0]}` }] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problems: [{ file, path: '', line: 1, column: 1, message: 'expected a mapping with key, name, baseUrl, auth and flows at the top level' }] };
  }
  return validateConnectorValue(value, file, doc, lines);
}

/** Parses one definition or throws `CONNECTOR_INVALID` with located details. */
export function parseConnector(text: string, file: string): ConnectorDefinition {
  const result = parseConnectorText(text, file);
  if (!result.ok) throw problemsToError(result.problems);
  return result.definition;
}

export async function loadConnectorFile(path: string, displayName: string = path): Promise<ConnectorDefinition> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_DEFINITION_BYTES) {
      throw problemsToError([{ file: displayName, path: '', message: `the file is larger than ${MAX_DEFINITION_BYTES} bytes` }]);
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof PlugboardError) throw error;
    throw problemsToError([{ file: displayName, path: '', message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})` }]);
  }
  return parseConnector(text, displayName);
}

/**
 * Loads every `*.yaml`/`*.yml` file of a directory (sorted, so results are stable). Bad files become errors; a key
 * used by two files keeps the first and reports the second.
 */
export async function loadConnectorDirectory(dir: string, displayPrefix: string = basename(dir)): Promise<DirectoryLoadResult> {
  const names = (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const connectors: LoadedConnector[] = [];
  const errors: PlugboardError[] = [];
  const byKey = new Map<string, string>();
  for (const name of names) {
    const file = `${displayPrefix}/${name}`;
    try {
      const definition = await loadConnectorFile(join(dir, name), file);
      const other = byKey.get(definition.key);
      if (other !== undefined) {
        errors.push(problemsToError([{ file, path: 'key', message: `the key "${definition.key}" is already used by ${other}; keys are unique` }]));
        continue;
      }
      byKey.set(definition.key, file);
      connectors.push({ file, definition });
    } catch (error) {
      if (error instanceof PlugboardError) errors.push(error);
      else throw error;
    }
  }
  return { connectors, errors };
}

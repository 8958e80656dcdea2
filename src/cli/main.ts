#!/usr/bin/env -S node --max-semi-space-size=16 --heap-growing-percent=100
/**
 * The `plugboard` command line. Each file in `commands/` exports `register(program)` and is discovered here, so a
 * command group is added by adding one file. Commands other than `start` are thin clients of the REST API
 * (see client.ts). Errors print one clear line to stderr and exit with status 1, never a stack trace.
 */
import module from 'node:module';
import { readdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';

// Caches compiled (and type-stripped) modules on disk: a restart then skips most of the parse and compile work,
// which is the bulk of the time from process start to ready.
module.enableCompileCache?.();

const COMMANDS_DIR = fileURLToPath(new URL('./commands/', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The Node flags the `plugboard` command runs with: the ones on this file's first line (`npm start` passes the same,
 * and the erasure benchmark runs Plugboard with them by default).
 */
export function launchFlags(): string[] {
  const shebang = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n', 1)[0] ?? '';
  return (/^#!\/usr\/bin\/env -S node(?: (.*))?$/.exec(shebang)?.[1] ?? '').split(' ').filter((flag) => flag !== '');
}

/**
 * The program with its commands. With `only` (the command name the user typed), just the file of that name is loaded
 * when it registers that command: `plugboard start` then skips importing every other command group and what they use,
 * which is start-up time. Anything else (help, an alias, a typo) loads every command so commander can answer.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const files = (await readdir(COMMANDS_DIR)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  if (only !== undefined && files.includes(`${only}.ts`)) {
    const program = await programWith([`${only}.ts`]);
    if (program.commands.some((command) => command.name() === only)) return program;
  }
  return programWith(files);
}

async function programWith(files: string[]): Promise<Command> {
  const program = new Command('plugboard')
    .description('Plugboard: connect, call, re-authenticate and provably revoke third-party API connections')
    .version(PACKAGE.version)
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text + idAfterDashes(text)) })
    .exitOverride();
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(COMMANDS_DIR, file)).href)) as { register?: (program: Command) => void };
    if (typeof mod.register !== 'function') throw new Error(`src/cli/commands/${file} must export register(program)`);
    mod.register(program);
  }
  return program;
}

/**
 * For an "unknown option" that is really an id starting with `-` (ids made before ids stopped starting with one),
 * the line that says how to pass it: after `--`, which ends the options.
 */
export function idAfterDashes(errorText: string): string {
  const flag = /^error: unknown option '(-[A-Za-z0-9_][A-Za-z0-9_-]{15,})'/.exec(errorText)?.[1];
  if (flag === undefined) return '';
  return `An id that starts with "-" goes after "--", which ends the options: plugboard <command> [options] -- ${flag}\n`;
}

async function main(argv: string[]): Promise<void> {
  const first = argv[2];
  const program = await buildProgram(first !== undefined && /^[a-z][a-z-]*$/.test(first) ? first : undefined);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with code 0; commander already printed the message for usage errors.
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`plugboard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv);
}

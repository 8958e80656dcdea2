/**
 * Command-line flags of the benchmarks: `--name value`, read from process.argv. A flag given with a bad value stops the
 * run at once, so a typo never silently benchmarks the default.
 */

/** `--name N`: a positive number (an integer with `integer`, zero allowed with `allowZero`), or `fallback` when absent. */
export function arg(name: string, fallback: number, options: { integer?: boolean; allowZero?: boolean } = {}): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  const valid = (options.integer ? Number.isInteger(n) : Number.isFinite(n)) && (options.allowZero ? n >= 0 : n > 0);
  if (!valid) {
    throw new Error(`--${name} must be a ${options.allowZero ? 'non-negative' : 'positive'} ${options.integer ? 'integer' : 'number'}, got ${process.argv[i + 1]}`);
  }
  return n;
}

/** `--name text`: the value, or undefined when the flag is absent. */
export function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

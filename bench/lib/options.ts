/**
 * Benchmark sizes and knobs: `--name=value` flags win over BENCH_NAME environment variables,
 * which win over the defaults (the figures the issue asks for).
 */
export function intOption(name: string, fallback: number, argv: readonly string[] = process.argv.slice(2)): number {
  const raw = stringOption(name, undefined, argv);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} (or ${envName(name)}) must be a whole number, got ${raw}`);
  return n;
}

export function stringOption(name: string, fallback: string, argv?: readonly string[]): string;
export function stringOption(name: string, fallback: undefined, argv?: readonly string[]): string | undefined;
export function stringOption(name: string, fallback: string | undefined, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  const prefix = `--${name}=`;
  const flag = argv.find((a) => a.startsWith(prefix));
  if (flag !== undefined) return flag.slice(prefix.length);
  return process.env[envName(name)] ?? fallback;
}

export function flagOption(name: string, argv: readonly string[] = process.argv.slice(2)): boolean {
  if (argv.includes(`--${name}`)) return true;
  const env = process.env[envName(name)];
  return env !== undefined && env !== '' && env !== '0' && env !== 'false';
}

/** `rss-devices` → `BENCH_RSS_DEVICES`. */
export function envName(name: string): string {
  return `BENCH_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** Positional arguments: everything that is not a flag. */
export function positionals(argv: readonly string[] = process.argv.slice(2)): string[] {
  return argv.filter((a) => !a.startsWith('--'));
}

// Runs named benchmarks: `npm run bench -- <name> [--flags]`; no name runs them all. See bench/README.md.
import { positionals } from './lib/options.ts';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  controller: async () => (await import('./controller-bench.ts')).runControllerBenchmark(),
};

const wanted = positionals();
if (wanted.includes('list')) {
  process.stdout.write(`${Object.keys(BENCHMARKS).join('\n')}\n`);
  process.exit(0);
}
const unknown = wanted.filter((n) => !(n in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  await BENCHMARKS[name]!();
}

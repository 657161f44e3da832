// Runs named benchmarks: `npm run bench -- <name> [--flags]`; no name runs them all. See bench/README.md.
import { positionals } from './lib/options.ts';

const BENCHMARKS: Record<string, () => Promise<void>> = {
  controller: async () => (await import('./controller-bench.ts')).runControllerBenchmark(),
  'sip-cpu': async () => (await import('./sip-cpu.ts')).runSipCpuBenchmark(),
  'edge-login': async () => (await import('./edge-login.ts')).runEdgeLoginBenchmark(),
  'edge-provisioning': async () => (await import('./edge-provisioning.ts')).runEdgeProvisioningBenchmark(),
  edge: async () => (await import('./edge-bench.ts')).runEdgeBenchmarks(),
  'edge-limits': async () => (await import('./edge-limits.ts')).runEdgeLimitsBenchmark(),
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

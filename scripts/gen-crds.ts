/**
 * Writes the CRDs generated from src/api/ into crds/, config/crd/ and the Helm chart.
 *   node scripts/gen-crds.ts           write them
 *   node scripts/gen-crds.ts --check   write nothing; exit 1 listing every stale, missing or extra file
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GENERATED_DIRS, generatedFiles } from '../src/api/manifests.ts';

const ROOT = new URL('../', import.meta.url).pathname;

function existingGenerated(): string[] {
  const out: string[] = [];
  for (const dir of GENERATED_DIRS) {
    const abs = join(ROOT, dir);
    if (!existsSync(abs)) continue;
    for (const f of readdirSync(abs)) if (f.endsWith('.yaml')) out.push(`${dir}/${f}`);
  }
  return out;
}

const files = generatedFiles();
const stale = [...files].filter(([path, content]) => !existsSync(join(ROOT, path)) || readFileSync(join(ROOT, path), 'utf8') !== content).map(([p]) => p);
const extra = existingGenerated().filter((p) => !files.has(p));

if (process.argv.includes('--check')) {
  if (stale.length + extra.length > 0) {
    for (const p of stale) process.stderr.write(`stale: ${p}\n`);
    for (const p of extra) process.stderr.write(`not generated (delete it): ${p}\n`);
    process.stderr.write('run: bash scripts/with-node.sh node scripts/gen-crds.ts\n');
    process.exit(1);
  }
  process.stdout.write(`${files.size} generated files are up to date\n`);
} else {
  for (const p of stale) {
    mkdirSync(dirname(join(ROOT, p)), { recursive: true });
    writeFileSync(join(ROOT, p), files.get(p)!);
    process.stdout.write(`wrote ${p}\n`);
  }
  for (const p of extra) {
    rmSync(join(ROOT, p));
    process.stdout.write(`removed ${p}\n`);
  }
}

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, matchesGlob } from 'node:path';

/**
 * What goes into the image, as the Dockerfile and .dockerignore say: the build-context paths the
 * Dockerfile COPYs (not --from another stage), expanded to files, minus what .dockerignore
 * excludes. Docker's own rules, simplified to the patterns this project uses: a pattern matches a
 * path, a folder prefix of it, or as a glob.
 */
export function copiedSources(dockerfile: string): string[] {
  const logical = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim());
  return logical
    .filter((l) => /^(COPY|ADD)\s/i.test(l))
    .map((l) => l.split(/\s+/).slice(1))
    .filter((words) => !words.some((w) => w.startsWith('--from=')))
    .flatMap((words) => words.filter((w) => !w.startsWith('--')).slice(0, -1));
}

export function isIgnored(path: string, dockerignore: string): boolean {
  const patterns = dockerignore.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return patterns.some((p) => path === p || path.startsWith(`${p}/`) || matchesGlob(path, p));
}

/** The files (relative to the context) that a build sends for the Dockerfile's COPYs, sorted. */
export function imageInputs(contextDir: string): string[] {
  const dockerignore = readFileSync(join(contextDir, '.dockerignore'), 'utf8');
  const files = new Set<string>();
  const walk = (rel: string) => {
    if (isIgnored(rel, dockerignore)) return;
    const abs = join(contextDir, rel);
    if (statSync(abs).isDirectory()) {
      for (const entry of readdirSync(abs)) walk(`${rel}/${entry}`);
    } else {
      files.add(rel);
    }
  };
  for (const source of copiedSources(readFileSync(join(contextDir, 'Dockerfile'), 'utf8'))) walk(source.replace(/\/+$/, ''));
  return [...files].sort();
}

/**
 * A hash of everything the image is made of: the Dockerfile, .dockerignore and each copied file's
 * path and bytes, plus `extra` (the base image's identity). Same inputs, same hash, same image.
 */
export function imageContentHash(contextDir: string, extra = ''): string {
  const hash = createHash('sha256');
  for (const rel of ['Dockerfile', '.dockerignore', ...imageInputs(contextDir)]) {
    const bytes = readFileSync(join(contextDir, rel));
    hash.update(`${rel}\0${bytes.length}\0`).update(bytes);
  }
  hash.update(`extra\0${extra}`);
  return hash.digest('hex').slice(0, 16);
}

if (import.meta.main) {
  const [contextDir = process.cwd(), extra = ''] = process.argv.slice(2);
  process.stdout.write(`${imageContentHash(contextDir, extra)}\n`);
}

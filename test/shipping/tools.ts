import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cacheRoot } from '../../src/envtest/assets.ts';
import { runCommand, type CommandResult } from '../../src/envtest/command.ts';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;
export const CHART_DIR = join(REPO_ROOT, 'charts/hotdesk-operator');
const HELM_VERSION = process.env.HOTDESK_HELM_VERSION ?? 'v3.22.0';

/** A Kubernetes object as rendered YAML, loosely typed: tests walk into it with `at`. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The helm that scripts/build-control-plane.sh builds: next to the other assets, or in its cache folder. */
export function helmBinary(): string {
  const candidates = [
    ...(process.env.KUBEBUILDER_ASSETS ? [join(process.env.KUBEBUILDER_ASSETS, 'helm')] : []),
    join(cacheRoot(), `helm-${HELM_VERSION}`, 'helm'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`helm not found in ${candidates.join(' or ')}; run scripts/build-control-plane.sh`);
  return found;
}

let helmHome: string | undefined;

export function helm(args: string[]): Promise<CommandResult> {
  // Private config, cache and data folders keep helm's state out of the user's.
  helmHome ??= mkdtempSync(join(tmpdir(), 'hotdesk-helm-'));
  const env = { ...process.env, HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_DATA_HOME: join(helmHome, 'data') };
  return runCommand(helmBinary(), args, { env, cwd: REPO_ROOT });
}

/** Removes helm's private folders; call from an after() hook. */
export function cleanUpHelm(): void {
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
  helmHome = undefined;
}

export function mustSucceed(what: string, result: CommandResult): string {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result.stdout;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`invalid YAML: ${d.errors[0]?.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

/** Renders the chart with `--set` values and returns the objects. */
export async function renderChart(sets: string[] = [], opts: { release?: string; namespace?: string } = {}): Promise<Manifest[]> {
  const args = ['template', opts.release ?? 'hotdesk-operator', CHART_DIR, '--namespace', opts.namespace ?? 'hotdesk-system'];
  for (const s of sets) args.push('--set', s);
  return parseManifests(mustSucceed('helm template', await helm(args)));
}

export function findOne(objects: Manifest[], kind: string, name?: string): Manifest {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${matches.length}`);
  return matches[0] as Manifest;
}

/** Walks a path of keys and indexes into a rendered object. */
export function at(value: unknown, ...path: (string | number)[]): any {
  let cur: any = value;
  for (const key of path) {
    if (cur === undefined || cur === null) return undefined;
    cur = cur[key];
  }
  return cur;
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, matchesGlob } from 'node:path';
import { REPO_ROOT, readRepoFile } from './tools.ts';

// No container engine runs here, so the Dockerfile is checked for what a build would trip over and
// for the properties the chart relies on (non-root uid, entrypoints).

interface Stage { base: string; name?: string; instructions: { op: string; args: string }[] }

function parseDockerfile(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(m, `bad FROM: ${line}`);
      stages.push({ base: m[1] as string, ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (stages.length > 0) {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = () => parseDockerfile(readRepoFile('Dockerfile'));
const final = () => stages().at(-1) as Stage;
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);

test('every stage builds on Node 24 slim on Debian bookworm', () => {
  const dockerfile = readRepoFile('Dockerfile');
  const nodeImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  assert.equal(nodeImage, 'node:24-bookworm-slim');
  for (const s of stages()) assert.equal(s.base, '${NODE_IMAGE}');
  assert.deepEqual(stages().map((s) => s.name), ['deps', 'prompts', undefined]);
});

test('production dependencies come from the lockfile, without dev dependencies', () => {
  const deps = stages().find((s) => s.name === 'deps') as Stage;
  assert.ok(ops(deps, 'RUN').some((r) => /npm ci\b.*--omit=dev/.test(r)));
  assert.ok(ops(deps, 'COPY').some((c) => c.includes('package-lock.json')));
});

test('espeak-ng and sox are installed only where the prompts are generated', () => {
  for (const s of stages()) {
    const installs = ops(s, 'RUN').some((r) => /apt-get install.*espeak-ng/.test(r) && r.includes('sox'));
    assert.equal(installs, s.name === 'prompts', `stage ${s.name ?? 'final'}`);
  }
  const prompts = stages().find((s) => s.name === 'prompts') as Stage;
  assert.ok(ops(prompts, 'RUN').some((r) => r.includes('scripts/gen-prompts.sh')));
});

test('the final image runs as a non-root numeric user, with node as entrypoint and the controller as default', () => {
  const s = final();
  assert.deepEqual(ops(s, 'USER'), ['10001:10001'], 'numeric, so runAsNonRoot can verify it');
  assert.deepEqual(ops(s, 'ENTRYPOINT'), ['["node"]']);
  assert.deepEqual(ops(s, 'CMD'), ['["src/cmd/controller.ts"]']);
  const pkg = JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.controller ?? '', /node src\/cmd\/controller\.ts$/, 'same entrypoint as npm run controller');
  assert.match(pkg.scripts.edge ?? '', /node src\/cmd\/edge\.ts$/, 'the edge is started with args src/cmd/edge.ts');
  const env = ops(s, 'ENV').join(' ');
  assert.match(env, /HOTDESK_PROMPTS_DIR=\/app\/prompts/);
  const copies = ops(s, 'COPY');
  for (const wanted of [/--from=deps \/app\/node_modules \.\/node_modules/, /--from=prompts \S+ \.\/prompts/, /^src \.\/src$/, /^package\.json \.\/$/]) {
    assert.ok(copies.some((c) => wanted.test(c)), `final stage lacks COPY ${wanted}`);
  }
});

test('every file copied from the build context exists and is not excluded by .dockerignore', () => {
  const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const excluded = (path: string) => ignored.some((p) => path === p || path.startsWith(`${p}/`) || matchesGlob(path, p));
  const sources = stages()
    .flatMap((s) => ops(s, 'COPY'))
    .filter((c) => !c.startsWith('--from='))
    .flatMap((c) => c.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1));
  assert.ok(sources.length >= 4, sources.join(' '));
  for (const src of sources) {
    assert.ok(existsSync(join(REPO_ROOT, src)), `${src} does not exist`);
    assert.ok(!excluded(src), `${src} is excluded by .dockerignore`);
  }
  for (const heavy of ['node_modules', '.git', 'test']) assert.ok(excluded(heavy), `${heavy} is sent to the builder`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '../../src/envtest/command.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAUNCHER = join(ROOT, 'bin', 'kubectl-hotdesk.js');

test('the launcher refuses a Node older than 22.19 with instructions, and runs the plugin on newer ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-launcher-'));
  try {
    const cases: [string, boolean][] = [['20.20.0', false], ['22.18.3', false], ['22.19.0', true], ['24.0.0', true]];
    for (const [version, runs] of cases) {
      // Pretends to be another Node version before the launcher looks.
      const pretend = join(dir, `node-${version}.mjs`);
      writeFileSync(pretend, `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} });\n`);
      const r = await runCommand(process.execPath, ['--import', pretend, LAUNCHER, 'help', 'who']);
      if (runs) {
        assert.equal(r.code, 0, `${version}: ${r.stderr}`);
        assert.match(r.stdout, /kubectl hotdesk who \[-n NS \| -A\]/, version);
      } else {
        assert.equal(r.code, 1, version);
        assert.equal(r.stdout, '', version);
        assert.match(r.stderr, new RegExp(`needs Node.js >= 22.19 \\(Node 24 LTS recommended\\); this is Node ${version.replace(/\./g, '\\.')}`), version);
        assert.match(r.stderr, /Install Node 24/, version);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('installed under node_modules (npm install -g), where Node will not strip types itself, the plugin still runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-npm-install-'));
  try {
    const pkg = join(dir, 'lib', 'node_modules', 'hotdesk-operator');
    mkdirSync(pkg, { recursive: true });
    for (const part of ['bin', 'src', 'package.json']) cpSync(join(ROOT, part), join(pkg, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const r = await runCommand(process.execPath, [join(pkg, 'bin', 'kubectl-hotdesk.js'), 'who', '--kubeconfig', join(dir, 'missing')]);
    assert.equal(r.stderr, `error: stat ${join(dir, 'missing')}: no such file or directory\n`, 'the plugin ran, and no experimental-feature warning leaked');
    assert.equal(r.code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

#!/usr/bin/env node
// The kubectl plugin's entry point: kubectl runs any "kubectl-<name>" on PATH for "kubectl <name>".
// This file is plain JavaScript on purpose: the plugin itself is TypeScript run directly by Node's
// type stripping (Node >= 22.19, Node 24 preferred), and an older Node could not even parse it, so
// this launcher must stay readable by any Node to tell the user what to do instead of crashing.
// Keep it free of static imports that older Node versions lack.

const REQUIRED = [22, 19];
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < REQUIRED[0] || (major === REQUIRED[0] && minor < REQUIRED[1])) {
  process.stderr.write(
    `error: kubectl-hotdesk needs Node.js >= ${REQUIRED.join('.')} (Node 24 LTS recommended); this is Node ${process.versions.node} (${process.execPath}).\n` +
      'Install Node 24 (https://nodejs.org/en/download, or "nvm install 24", or your distribution\'s nodejs 24 package)\n' +
      'and make sure it comes first on PATH, since kubectl starts the plugin with the "node" found there.\n',
  );
  process.exit(1);
}

// Node refuses to strip types from files under node_modules, which is where "npm install -g"
// puts this package; there, strip them ourselves (same transform, no build step).
if (import.meta.url.includes('/node_modules/')) {
  const { registerHooks, stripTypeScriptTypes } = await import('node:module');
  const { readFileSync } = await import('node:fs');
  const emitWarning = process.emitWarning;
  process.emitWarning = (warning, ...rest) => {
    if (!String(warning).includes('stripTypeScriptTypes')) emitWarning.call(process, warning, ...rest);
  };
  registerHooks({
    load(url, context, nextLoad) {
      if (url.startsWith('file:') && url.endsWith('.ts') && url.includes('/node_modules/')) {
        return { format: 'module', source: stripTypeScriptTypes(readFileSync(new URL(url), 'utf8')), shortCircuit: true };
      }
      return nextLoad(url, context);
    },
  });
}

const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const logModule = fileURLToPath(new URL('../../src/log.ts', import.meta.url));

/** Runs a script in a child process with a buffered logger bound as `log`; its stderr lines, timed. */
function runLogging(body: string): Promise<{ lines: Array<{ at: number; msg: string }>; code: number | null }> {
  const script = `import { createLogger } from ${JSON.stringify(logModule)};\nconst log = createLogger('t', {}, { buffered: true });\n${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
    const started = Date.now();
    const lines: Array<{ at: number; msg: string }> = [];
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) lines.push({ at: Date.now() - started, msg: JSON.parse(line).msg });
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ lines, code }));
  });
}

test('a buffered logger writes a quiet line within a second, not only when its buffer fills', async () => {
  const { lines } = await runLogging(`log.info('quiet'); setTimeout(() => log.info('late'), 3000);`);
  assert.deepEqual(lines.map((l) => l.msg), ['quiet', 'late']);
  assert.ok(lines[0]!.at < lines[1]!.at - 1500, `the first line came at ${lines[0]!.at} ms, before the second at ${lines[1]!.at} ms`);
});

test('a buffered logger loses no line when the process exits at once, even after a burst', async () => {
  const { lines, code } = await runLogging(`for (let i = 0; i < 5000; i++) log.info({ i }, 'burst'); log.fatal('bye'); process.exit(3);`);
  assert.equal(code, 3);
  assert.equal(lines.length, 5001);
  assert.equal(lines.at(-1)!.msg, 'bye');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCommand } from '../../src/envtest/command.ts';

// The README's first command: a new user must see a phone log in and the desk change hands.
test('npm run demo logs a phone in by feature code and PIN and shows what changed', async () => {
  const demo = await runCommand(process.execPath, [new URL('../../src/demo/main.ts', import.meta.url).pathname], { env: { ...process.env, LOG_LEVEL: 'error' } });
  assert.equal(demo.code, 0, `demo failed:\n${demo.stderr}\n${demo.stdout}`);
  const out = demo.stdout;
  assert.match(out, /kubectl get hotdeskdevices,hotdeskusers,hotdesksessions \(before\)[\s\S]*desk-3f-14\s+c074ad0102a3\s+grandstream\s+GRP2614\s+Idle/);
  assert.match(out, /SIP udp and tcp 127\.0\.0\.1:\d+,/, 'one port for both transports, the one phones are given');
  assert.match(out, /the edge runs as\s+a local process, not in pods/);
  assert.doesNotMatch(out, /EdgeNotReady|edge pods ready|\bFalse\b/, 'a healthy demo shows nothing as not ready');
  assert.match(out, /REGISTER -> 200 OK/);
  assert.match(out, /INVITE -> 200 OK; heard [1-9]\d* RTP packets of voice prompts; edge hung up: yes/);
  assert.match(out, /Event: check-sync;reboot=false/);
  assert.match(out, /kubectl get hotdeskdevices,hotdeskusers,hotdesksessions \(after\)[\s\S]*desk-3f-14\s+c074ad0102a3\s+grandstream\s+GRP2614\s+Occupied\s+bob/);
  assert.match(out, /^-\s+<P35>HD0002<\/P35>$/m);
  assert.match(out, /^\+\s+<P35>102<\/P35>$/m);
  assert.doesNotMatch(out, /sample-only-change-me-bob|1357<|P34>1357/, 'the diff shows the placeholder, not the password');
});

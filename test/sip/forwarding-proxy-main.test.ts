/** The standalone benchmark proxy as a real process, carrying a SIPp call to a fixed upstream. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, it } from 'node:test';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from './sipp.ts';

const children: ChildProcess[] = [];
const sipps: SippRun[] = [];
afterEach(() => {
  for (const s of sipps.splice(0)) s.kill();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

it('forwards a whole SIPp call to the upstream given on the command line', { timeout: 60_000 }, async () => {
  const proxyPort = await freeLoopbackPort();
  const uasPort = await freeLoopbackPort();
  const main = resolve(import.meta.dirname, '../../src/sip/forwarding-proxy-main.ts');
  const child = spawn(process.execPath, [main, '--listen', `127.0.0.1:${proxyPort}`, '--upstream', `127.0.0.1:${uasPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<string>((res, rej) => {
    child.stdout?.once('data', (d: Buffer) => res(d.toString()));
    child.once('exit', (code) => rej(new Error(`proxy exited ${code}: ${stderr}`)));
  });
  assert.match(ready, new RegExp(`"port":${proxyPort}`));

  const uas = await startSipp({ scenario: 'uas-answer.xml', port: uasPort, transport: 'udp' });
  sipps.push(uas);
  await waitForListener(uasPort, 'udp');
  const uac = await startSipp({ scenario: 'uac-call.xml', port: await freeLoopbackPort(), transport: 'udp', remote: `127.0.0.1:${proxyPort}`, service: '101' });
  sipps.push(uac);
  const [a, b] = await Promise.all([uac.done, uas.done]);
  assert.equal(a.code, 0, a.output);
  assert.equal(b.code, 0, b.output);

  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

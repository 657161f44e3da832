/**
 * baresip 1.0 as a headless desk phone: its own config folder, an account that registers through
 * the edge (outbound proxy), a tone file as microphone and no speaker, SIP trace on stdout, and
 * ctrl_tcp for commands (JSON in netstrings) and events.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort, waitForListener } from '../support/ports.ts';

const execFileAsync = promisify(execFile);

export interface BaresipEvent {
  type: string;
  class?: string;
  param?: string;
  [key: string]: unknown;
}

export interface Baresip {
  sipPort: number;
  events: BaresipEvent[];
  /** Runs a ctrl_tcp command (the same names as the interactive menu: dial, sndcode, hangup...). */
  command(command: string, params?: string): Promise<{ ok: boolean; data: string }>;
  waitForEvent(type: string, timeoutMs?: number, after?: number): Promise<BaresipEvent>;
  /** stdout and stderr: the SIP trace and baresip's own messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface BaresipOptions {
  user: string;
  password: string;
  /** host:port of the edge, used as outbound proxy. */
  outbound: string;
  /** Over TLS the outbound proxy is host and TLS port. */
  transport?: 'udp' | 'tcp' | 'tls';
  /** Media encryption (account mediaenc): `srtp-mand` offers RTP/SAVP only, `srtp` adds a=crypto to RTP/AVP. */
  mediaenc?: 'srtp' | 'srtp-mand';
  /** PEM file of the CA (or self-signed certificate) baresip trusts for TLS (config sip_cafile). */
  cafile?: string;
  /** Answer incoming calls by itself (account answermode=auto). */
  autoAnswer?: boolean;
  /** `outbound` is the registrar itself (the account's domain), not an outbound proxy: requests carry no Route. */
  direct?: boolean;
}

/** Splits `len:payload,` netstrings off the front of the buffer. */
function takeNetstrings(buffer: string): { items: string[]; rest: string } {
  const items: string[] = [];
  let rest = buffer;
  for (;;) {
    const colon = rest.indexOf(':');
    if (colon < 0) break;
    const length = Number(rest.slice(0, colon));
    if (!Number.isInteger(length) || rest.length < colon + 1 + length + 1) break;
    items.push(rest.slice(colon + 1, colon + 1 + length));
    rest = rest.slice(colon + 1 + length + 1);
  }
  return { items, rest };
}

export async function startBaresip(opts: BaresipOptions): Promise<Baresip> {
  const dir = await mkdtemp(join(tmpdir(), 'baresip-'));
  const sipPort = await freeLoopbackPort();
  const ctrlPort = await freeLoopbackPort();
  const rtpPort = await freeLoopbackPort();
  const tone = join(dir, 'tone.wav');
  // ausine only runs at 48 kHz; a G.711-rate file avoids resampling in baresip 1.0.
  await execFileAsync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', tone, 'synth', '60', 'sine', '440', 'vol', '0.2']);
  await writeFile(join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    'net_interface 127.0.0.1',
    `audio_source aufile,${tone}`,
    `rtp_ports ${rtpPort}-${rtpPort + 1}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    ...(opts.mediaenc ? ['module srtp.so'] : []),
    ...(opts.cafile ? [`sip_cafile ${opts.cafile}`] : []),
    'module_app account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    '',
  ].join('\n'));
  const transport = opts.transport && opts.transport !== 'udp' ? `;transport=${opts.transport}` : '';
  const extras = `${opts.mediaenc ? `;mediaenc=${opts.mediaenc}` : ''}${opts.autoAnswer ? ';answermode=auto' : ''}`;
  const account = opts.direct ? `<sip:${opts.user}@${opts.outbound}${transport}>;auth_pass=${opts.password}` : `<sip:${opts.user}@127.0.0.1>;auth_pass=${opts.password};outbound="sip:${opts.outbound}${transport}"`;
  await writeFile(join(dir, 'accounts'), `${account};regint=300;audio_codecs=PCMU${extras}\n`);
  await writeFile(join(dir, 'contacts'), '');

  const child: ChildProcess = spawn('baresip', ['-f', dir, '-s'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => (output = (output + d.toString('latin1')).slice(-200_000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let control: Socket | undefined;

  const stop = async () => {
    control?.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForListener(ctrlPort, 'tcp');
  } catch (err) {
    await stop();
    throw new Error(`baresip did not start: ${String(err)}\n${output}`);
  }
  const socket = connect(ctrlPort, '127.0.0.1');
  control = socket;
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const events: BaresipEvent[] = [];
  const pending = new Map<string, (r: { ok: boolean; data: string }) => void>();
  let buffer = '';
  socket.on('data', (d: Buffer) => {
    const { items, rest } = takeNetstrings(buffer + d.toString('utf8'));
    buffer = rest;
    for (const item of items) {
      const msg = JSON.parse(item) as Record<string, unknown>;
      if (msg.event) events.push(msg as BaresipEvent);
      else if (msg.response) pending.get(String(msg.token))?.({ ok: msg.ok === true, data: String(msg.data ?? '') });
    }
  });
  let tokens = 0;
  const command = (name: string, params = '') =>
    new Promise<{ ok: boolean; data: string }>((resolve, reject) => {
      const token = `t${++tokens}`;
      const timer = setTimeout(() => reject(new Error(`baresip did not answer "${name}"`)), 5_000);
      pending.set(token, (r) => {
        clearTimeout(timer);
        pending.delete(token);
        resolve(r);
      });
      const json = JSON.stringify({ command: name, params, token });
      socket.write(`${Buffer.byteLength(json)}:${json},`);
    });
  const waitForEvent = async (type: string, timeoutMs = 15_000, after = 0) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.slice(after).find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`baresip: no ${type} event; events: ${events.map((e) => `${e.type}(${e.param ?? ''})`).join(', ')}\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { sipPort, events, command, waitForEvent, log: () => output, stop };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PBX_IP, PBX_NETNS } from '../../src/cluster/office-network.ts';
import { runCommand } from '../../src/envtest/command.ts';
import { expectPassed, startSipp } from '../e2e/sipp.ts';

/** A number at the PBX that rings the callee (startCallee), a SIP phone beside Kamailio that answers. */
export const CALLEE_NUMBER = '2000';
const CALLEE_PORT = 5070;

/**
 * Kamailio as the tenant PBX, in its own network namespace: a registrar (usrloc in memory) that
 * relays calls to registered users, along a registration's Path when it has one (RFC 3327, for
 * pbx.phoneRouting path; a binding without one is reached at its Contact, for contact), and
 * CALLEE_NUMBER to the callee. It logs what each lookup found ("PBX lookup found <uri> dst <path>").
 * One binding per extension, as many PBXes keep for a desk phone (save flag 0x04): a REGISTER
 * through a new edge pod names a new flow token and replaces the binding with the old pod's, which
 * would otherwise be rung too until it expired, and answered 430 Flow Failed by the edge.
 */
export interface Pbx {
  log(): string;
  stop(): Promise<void>;
}

const MODULES = ['tm', 'sl', 'rr', 'pv', 'maxfwd', 'usrloc', 'registrar', 'path', 'textops', 'siputils', 'xlog', 'kex', 'corex'];

function config(): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:${PBX_IP}:5060
alias="example.3cx.eu"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
${MODULES.map((m) => `loadmodule "${m}.so"`).join('\n')}
modparam("usrloc", "db_mode", 0)
modparam("registrar", "use_path", 1)

request_route {
  xlog("L_INFO", "PBX got $rm $ru from $fu via $si:$sp\\n");
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && !t_check_trans()) { t_relay(); exit; }
    t_relay();
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  if (is_method("REGISTER")) {
    if (is_present_hf("Path")) xlog("L_INFO", "PBX stored Path $hdr(Path)\\n");
    if (!save("location", "0x04")) sl_reply_error();
    exit;
  }
  if (is_method("INVITE")) {
    record_route();
    if ($rU == "${CALLEE_NUMBER}") { $du = "sip:${PBX_IP}:${CALLEE_PORT}"; t_relay(); exit; }
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    xlog("L_INFO", "PBX lookup found $ru dst $du\\n");
    t_relay();
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`;
}

export async function startPbx(): Promise<Pbx> {
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-pbx-'));
  writeFileSync(join(dir, 'kamailio.cfg'), config());
  let output = '';
  // nsenter execs Kamailio in place, so the child's PID is Kamailio's main process.
  const child: ChildProcess = spawn('nsenter', [`--net=/run/netns/${PBX_NETNS}`, 'kamailio', '-DD', '-E', '-f', join(dir, 'kamailio.cfg'), '-Y', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const deadline = Date.now() + 20_000;
  while (!/INFO.*(?:udp|bind_sockets|listening on)/i.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (child.exitCode !== null) throw new Error(`Kamailio exited with ${child.exitCode}:\n${output}`);
  return {
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The callee: SIPp's built-in answering phone beside Kamailio, for one call (answers, takes the caller's BYE). */
export interface Callee {
  /** Resolves with SIPp's exit code and its message trace once the call is over (or SIPp gave up). */
  done: Promise<{ code: number | null; messages: string }>;
  stop(): Promise<void>;
}

export async function startCallee(timeoutSeconds = 60): Promise<Callee> {
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-callee-'));
  const messages = join(dir, 'messages.log');
  const child = spawn('nsenter', [`--net=/run/netns/${PBX_NETNS}`, 'sipp', '-sn', 'uas', '-i', PBX_IP, '-p', String(CALLEE_PORT), '-m', '1', '-timeout', `${timeoutSeconds}s`, '-timeout_error', '-nostdin', '-trace_msg', '-message_file', messages], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; messages: string }>((resolve) => child.once('exit', (code) => {
    let trace = '';
    try { trace = readFileSync(messages, 'utf8'); } catch { /* SIPp wrote none: it never got a message */ }
    resolve({ code, messages: `${trace}${stderr}` });
  }));
  // Ringing before SIPp listens would be answered by an ICMP error: wait for its socket.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listening = await runCommand('nsenter', [`--net=/run/netns/${PBX_NETNS}`, 'ss', '-Hlun', `sport = :${CALLEE_PORT}`]);
    if (listening.stdout.trim() !== '') break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the callee (SIPp) is not listening on ${PBX_IP}:${CALLEE_PORT}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    done,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await done;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A phone registered at the PBX directly, beside it, that calls the hot-desk extensions. */
export const CALLER_NUMBER = '200';
const CALLER_PORT = 5072;

/** The caller registers CALLER_NUMBER at the PBX, as any phone of the tenant's does. */
export async function registerCaller(): Promise<void> {
  const run = await startSipp({ scenario: 'register.xml', netns: PBX_NETNS, host: PBX_IP, port: CALLER_PORT, remote: `${PBX_IP}:5060`, keys: { user: CALLER_NUMBER, contact_port: CALLER_PORT }, timeoutSeconds: 15 });
  await expectPassed(run, 'the caller registering at the PBX');
}

/**
 * The caller calls `extension` through the PBX. `answered`: it expects the answer, ACKs, and hangs
 * up with BYE after 300 ms; `unavailable`: it expects 480 (or 404) and ACKs it. Resolves with
 * SIPp's message trace; fails with it when the call went otherwise.
 */
export async function callFromPbx(extension: string, expect: 'answered' | 'unavailable'): Promise<string> {
  const run = await startSipp({ scenario: expect === 'answered' ? 'call-answered.xml' : 'call-unavailable.xml', netns: PBX_NETNS, host: PBX_IP, port: CALLER_PORT, remote: `${PBX_IP}:5060`, service: extension, keys: { caller: CALLER_NUMBER }, timeoutSeconds: 30 });
  return (await expectPassed(run, `the caller calling ${extension} (${expect})`)).messages;
}

/**
 * A desk phone behind an office NAT, the edge, and a PBX, each where it would be in the field, made
 * of network namespaces for one test process (names and addresses derived from its pid):
 *
 *   office (phone 192.168.N.10) ── NAT router (MASQUERADE; public 10.252.N.2)
 *                                       │
 *                 the test's own namespace: the edge, 10.252.N.1
 *                                       │
 *                                  PBX 10.252.N.6
 *
 * The edge runs in the test's namespace (it reaches the API server on loopback) bound to
 * 10.252.N.1. The NAT router routes only to that address; the PBX has a route to it alone: no
 * namespace has a route off the machine, and neither the PBX nor the edge can reach the office LAN
 * except back through the NAT's mappings. A SIP trace (sip-trace.ts) runs in all three namespaces.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { runCommand } from '../../src/envtest/command.ts';
import { waitForListener } from './ports.ts';
import { startSipTrace, type SipTrace } from './sip-trace.ts';

export interface NatTopology {
  /** The office LAN's namespace, and the phone's address on it. */
  office: { netns: string; phoneIp: string };
  /** The NAT router's namespace and its public address (what the edge sees phones come from). */
  nat: { netns: string; publicIp: string };
  pbx: { netns: string; ip: string };
  /** The edge's address in the test's namespace: bind the edge here. */
  edgeIp: string;
  /** Starts a program inside a namespace (nsenter execs it: the child's pid is the program's). */
  spawnIn(netns: string, command: string, args: string[], opts?: SpawnOptions): ChildProcess;
  waitForListener(netns: string, port: number, transport: 'udp' | 'tcp'): Promise<void>;
  trace: SipTrace;
  /**
   * Runs `fn`; when it throws, the error's message gains the decoded SIP trace. The capture files
   * are deleted either way (in destroy).
   */
  withTrace<T>(fn: () => Promise<T>): Promise<T>;
  destroy(): Promise<void>;
}

let created = 0;

async function run(...args: string[]): Promise<void> {
  const [bin = '', ...rest] = args;
  const r = await runCommand(bin, rest);
  if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.trim()}`);
}

export async function createNatTopology(): Promise<NatTopology> {
  const index = created++;
  const tag = `${process.pid % 100000}${String.fromCharCode(97 + (index % 26))}`;
  const n = (process.pid + index * 7) % 250;
  const office = `hdnat${tag}o`;
  const nat = `hdnat${tag}n`;
  const pbx = `hdnat${tag}p`;
  const toNat = `hne${tag}`;
  const toPbx = `hnp${tag}`;
  const edgeIp = `10.252.${n}.1`;
  const publicIp = `10.252.${n}.2`;
  const edgeTowardsPbx = `10.252.${n}.5`;
  const pbxIp = `10.252.${n}.6`;
  const lanRouter = `192.168.${n}.1`;
  const phoneIp = `192.168.${n}.10`;
  const ip = (netns: string | undefined, ...args: string[]) => run('ip', ...(netns ? ['-n', netns] : []), ...args);
  const inNetns = (netns: string, ...args: string[]) => run('nsenter', `--net=/run/netns/${netns}`, ...args);

  const made: string[] = [];
  let trace: SipTrace | undefined;
  const destroy = async () => {
    await trace?.stop();
    // Deleting a namespace deletes its end of each veth, and with it the peer in ours.
    for (const netns of made.splice(0).reverse()) await runCommand('ip', ['netns', 'del', netns]);
    for (const link of [toNat, toPbx]) await runCommand('ip', ['link', 'del', link]);
  };
  try {
    for (const netns of [office, nat, pbx]) {
      await run('ip', 'netns', 'add', netns);
      made.push(netns);
      await ip(netns, 'link', 'set', 'lo', 'up');
    }
    // The edge's side <-> the NAT router's public side.
    await ip(undefined, 'link', 'add', toNat, 'type', 'veth', 'peer', 'name', 'wan0', 'netns', nat);
    await ip(undefined, 'addr', 'add', `${edgeIp}/30`, 'dev', toNat);
    await ip(undefined, 'link', 'set', toNat, 'up');
    await ip(nat, 'addr', 'add', `${publicIp}/30`, 'dev', 'wan0');
    await ip(nat, 'link', 'set', 'wan0', 'up');
    // The edge's side <-> the PBX, which reaches the edge's address and nothing else.
    await ip(undefined, 'link', 'add', toPbx, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pbx);
    await ip(undefined, 'addr', 'add', `${edgeTowardsPbx}/30`, 'dev', toPbx);
    await ip(undefined, 'link', 'set', toPbx, 'up');
    await ip(pbx, 'addr', 'add', `${pbxIp}/30`, 'dev', 'eth0');
    await ip(pbx, 'link', 'set', 'eth0', 'up');
    await ip(pbx, 'route', 'add', `${edgeIp}/32`, 'via', edgeTowardsPbx);
    // The office LAN <-> the NAT router.
    await ip(nat, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', office);
    await ip(nat, 'addr', 'add', `${lanRouter}/24`, 'dev', 'lan0');
    await ip(nat, 'link', 'set', 'lan0', 'up');
    await ip(office, 'addr', 'add', `${phoneIp}/24`, 'dev', 'eth0');
    await ip(office, 'link', 'set', 'eth0', 'up');
    await ip(office, 'route', 'add', 'default', 'via', lanRouter);
    await inNetns(nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await inNetns(nat, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE');
    trace = await startSipTrace([office, nat, pbx]);
  } catch (err) {
    await destroy();
    throw err;
  }
  const started = trace;
  return {
    office: { netns: office, phoneIp },
    nat: { netns: nat, publicIp },
    pbx: { netns: pbx, ip: pbxIp },
    edgeIp,
    spawnIn: (netns, command, args, opts = {}) => spawn('nsenter', [`--net=/run/netns/${netns}`, command, ...args], opts),
    waitForListener: (netns, port, transport) => waitForListener(port, transport, 10_000, netns),
    trace: started,
    withTrace: async (fn) => {
      try {
        return await fn();
      } catch (err) {
        const decoded = await started.decode().catch((e: unknown) => `(no trace: ${String(e)})`);
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`${message}\n--- SIP trace ---\n${decoded}`, { cause: err });
      }
    },
    destroy,
  };
}

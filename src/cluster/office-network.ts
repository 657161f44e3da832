import { runCommand } from '../envtest/command.ts';
import { CLUSTER_NETNS } from './cluster.ts';

/**
 * Networks around the one-node cluster, each a network namespace joined to the cluster's by a veth:
 * - the PBX's, 10.46.0.2, which pods reach by routing through the node (a PBX outside the cluster),
 *   and which reaches the node's address as phones do (to send a call to a phone through the edge);
 * - an office LAN, 192.168.77.0/24, behind a NAT router whose public side is 10.45.0.2. The router
 *   routes to the node's address only, as the internet would to a node's public IP: phones reach
 *   the edge through a Service's node port, never a pod IP.
 */
export const PBX_NETNS = 'hotdesk-pbx';
export const PBX_IP = '10.46.0.2';
export const OFFICE_NETNS = 'hotdesk-office';
export const OFFICE_PHONE_IP = '192.168.77.10';
export const OFFICE_PUBLIC_IP = '10.45.0.2';
const NAT_NETNS = 'hotdesk-office-nat';
const NODE_IP = '10.44.0.1';
const POD_CIDR = '10.88.0.0/16';

async function run(...args: string[]): Promise<void> {
  const [bin = '', ...rest] = args;
  const r = await runCommand(bin, rest);
  if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.trim()}`);
}

const ip = (netns: string, ...args: string[]) => run('ip', '-n', netns, ...args);
const inNetns = (netns: string, ...args: string[]) => run('nsenter', `--net=/run/netns/${netns}`, ...args);

export interface OfficeNetwork {
  /**
   * Routes `address` to the node from the office's NAT router and from the PBX, as the internet
   * routes a load balancer's address to the node behind it (the load balancer's part is played by
   * kube-proxy there, for the address in a Service's status.loadBalancer.ingress).
   */
  routeToNode(address: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startOfficeNetwork(): Promise<OfficeNetwork> {
  const created: string[] = [];
  const stop = async () => {
    for (const netns of created.reverse()) await runCommand('ip', ['netns', 'del', netns]);
  };
  try {
    for (const netns of [PBX_NETNS, NAT_NETNS, OFFICE_NETNS]) {
      await run('ip', 'netns', 'add', netns);
      created.push(netns);
      await ip(netns, 'link', 'set', 'lo', 'up');
    }
    // PBX <-> cluster node.
    await ip(CLUSTER_NETNS, 'link', 'add', 'pbx0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', PBX_NETNS);
    await ip(CLUSTER_NETNS, 'addr', 'add', '10.46.0.1/24', 'dev', 'pbx0');
    await ip(CLUSTER_NETNS, 'link', 'set', 'pbx0', 'up');
    await ip(PBX_NETNS, 'addr', 'add', `${PBX_IP}/24`, 'dev', 'eth0');
    await ip(PBX_NETNS, 'link', 'set', 'eth0', 'up');
    await ip(PBX_NETNS, 'route', 'add', POD_CIDR, 'via', '10.46.0.1');
    await ip(PBX_NETNS, 'route', 'add', `${NODE_IP}/32`, 'via', '10.46.0.1');
    // NAT router's public side <-> cluster node.
    await ip(CLUSTER_NETNS, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan0', 'netns', NAT_NETNS);
    await ip(CLUSTER_NETNS, 'addr', 'add', '10.45.0.1/24', 'dev', 'wan0');
    await ip(CLUSTER_NETNS, 'link', 'set', 'wan0', 'up');
    await ip(NAT_NETNS, 'addr', 'add', `${OFFICE_PUBLIC_IP}/24`, 'dev', 'wan0');
    await ip(NAT_NETNS, 'link', 'set', 'wan0', 'up');
    await ip(NAT_NETNS, 'route', 'add', `${NODE_IP}/32`, 'via', '10.45.0.1');
    // Office LAN <-> NAT router.
    await ip(NAT_NETNS, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OFFICE_NETNS);
    await ip(NAT_NETNS, 'addr', 'add', '192.168.77.1/24', 'dev', 'lan0');
    await ip(NAT_NETNS, 'link', 'set', 'lan0', 'up');
    await ip(OFFICE_NETNS, 'addr', 'add', `${OFFICE_PHONE_IP}/24`, 'dev', 'eth0');
    await ip(OFFICE_NETNS, 'link', 'set', 'eth0', 'up');
    await ip(OFFICE_NETNS, 'route', 'add', 'default', 'via', '192.168.77.1');
    await inNetns(NAT_NETNS, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    await inNetns(NAT_NETNS, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    routeToNode: async (address) => {
      await ip(NAT_NETNS, 'route', 'replace', `${address}/32`, 'via', '10.45.0.1');
      await ip(PBX_NETNS, 'route', 'replace', `${address}/32`, 'via', '10.46.0.1');
    },
    stop,
  };
}

/**
 * A Service address on this machine for tests with several edge replicas, made as kube-proxy makes
 * one: iptables DNAT rules in the nat OUTPUT chain from a "cluster IP" to a replica's address,
 * keeping the port, with conntrack undoing it on the way back (a replica's packets to a client
 * reach it from the Service address). Rules can send one client (by source address and port) to
 * one replica, as ClientIP affinity would, and everyone else to another. The Service and "pod"
 * addresses sit on an interface of the test's own (one end of a veth pair) (the API server refuses loopback addresses
 * in an EndpointSlice); packets between local addresses never leave the machine. Needs root;
 * close() removes the interface and every rule it added.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Rule {
  args: string[];
}

export class LocalService {
  readonly address: string;
  readonly #link: string;
  readonly #rules: Rule[] = [];
  #fallback: Rule | undefined;

  private constructor(address: string, link: string) {
    this.address = address;
    this.#link = link;
  }

  /** The Service at `address` and the pods' addresses, on an interface named `link` (unique to the process). */
  static async create(link: string, address: string, podAddresses: readonly string[]): Promise<LocalService> {
    // A veth pair rather than a dummy link: not every kernel here has the dummy module.
    await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', `${link}p`]);
    const service = new LocalService(address, link);
    try {
      for (const a of [address, ...podAddresses]) await run('ip', ['addr', 'add', `${a}/32`, 'dev', link]);
      await run('ip', ['link', 'set', link, 'up']);
      await run('ip', ['link', 'set', `${link}p`, 'up']);
    } catch (err) {
      await service.close();
      throw err;
    }
    return service;
  }

  /** UDP from `source` (address and port) to the Service goes to `replica`, ahead of any other rule. */
  async pin(source: { address: string; port: number }, replica: string): Promise<void> {
    const rule = { args: ['-s', source.address, '-p', 'udp', '--sport', String(source.port), '-d', this.address, '-j', 'DNAT', '--to-destination', replica] };
    await run('iptables', ['-t', 'nat', '-I', 'OUTPUT', '1', ...rule.args]);
    this.#rules.push(rule);
  }

  /**
   * Everything else to the Service goes to `replica`, as when the Service's endpoints change: the
   * old rule goes, and the flows the old one made are forgotten (kube-proxy clears UDP conntrack
   * entries of a removed endpoint), else datagrams would go on reaching the old replica.
   */
  async routeRest(replica: string): Promise<void> {
    const rule = { args: ['-d', this.address, '-p', 'udp', '-j', 'DNAT', '--to-destination', replica] };
    await run('iptables', ['-t', 'nat', '-A', 'OUTPUT', ...rule.args]);
    if (this.#fallback) await this.#remove(this.#fallback);
    this.#fallback = rule;
    this.#rules.push(rule);
    await this.forgetFlows();
  }

  async forgetFlows(): Promise<void> {
    await run('conntrack', ['-D', '-p', 'udp', '--orig-dst', this.address]).catch(() => undefined); // exit 1: none found
  }

  async close(): Promise<void> {
    for (const rule of [...this.#rules]) await this.#remove(rule).catch(() => undefined);
    await this.forgetFlows();
    await run('ip', ['link', 'del', this.#link]).catch(() => undefined);
  }

  async #remove(rule: Rule): Promise<void> {
    await run('iptables', ['-t', 'nat', '-D', 'OUTPUT', ...rule.args]);
    this.#rules.splice(this.#rules.indexOf(rule), 1);
  }
}

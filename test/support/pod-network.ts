// A stand-in for a pod's network: a network namespace of its own (so a program binds the ports its
// manifest says, 8080 and all, beside other "pods"), a veth to the test's namespace, and the API
// server reachable at the very address the kubeconfig names (https://127.0.0.1:<port>), through
// two relays. The relay on the test's side can be cut to partition the pod from the API server
// while the test still reaches the pod (metrics, probes) over the veth.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runCommand } from '../../src/envtest/command.ts';
import { startTcpRelay, type TcpRelay } from './tcp-relay.ts';

export interface PodNetwork {
  readonly name: string;
  /** The pod's address, reachable from the test. */
  readonly podIp: string;
  /** Starts a program inside the pod's network namespace. */
  spawn(command: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Partitions the pod from the API server (packets dropped, not refused). */
  cutApiServer(): void;
  restoreApiServer(): void;
  destroy(): Promise<void>;
}

let created = 0;

async function ip(args: string[]): Promise<void> {
  const r = await runCommand('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export async function createPodNetwork(apiServer: URL): Promise<PodNetwork> {
  const index = created++;
  const tag = `${process.pid % 100000}${String.fromCharCode(97 + index)}`;
  const name = `hdpod${tag}`;
  const netnsPath = `/var/run/netns/${name}`;
  // 10.254.<pid-derived>.<4·index> /30: unlikely to meet another test run's namespace.
  const third = process.pid % 250;
  const base = (index * 4) % 252;
  const hostIp = `10.254.${third}.${base + 1}`;
  const podIp = `10.254.${third}.${base + 2}`;
  const apiPort = Number(apiServer.port);

  await ip(['netns', 'add', name]);
  let hostRelay: TcpRelay | undefined;
  let podRelay: ChildProcess | undefined;
  const destroy = async () => {
    podRelay?.kill('SIGKILL');
    await hostRelay?.close();
    await runCommand('ip', ['netns', 'del', name]);
    await runCommand('ip', ['link', 'del', `hdh${tag}`]);
  };
  try {
    await ip(['link', 'add', `hdh${tag}`, 'type', 'veth', 'peer', 'name', `hdp${tag}`]);
    await ip(['link', 'set', `hdp${tag}`, 'netns', name]);
    await ip(['addr', 'add', `${hostIp}/30`, 'dev', `hdh${tag}`]);
    await ip(['link', 'set', `hdh${tag}`, 'up']);
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    await ip(['-n', name, 'link', 'set', `hdp${tag}`, 'name', 'eth0']);
    await ip(['-n', name, 'addr', 'add', `${podIp}/30`, 'dev', 'eth0']);
    await ip(['-n', name, 'link', 'set', 'eth0', 'up']);

    hostRelay = await startTcpRelay({ host: hostIp, port: 0 }, { host: '127.0.0.1', port: apiPort });
    const relayScript = new URL('./tcp-relay.ts', import.meta.url).pathname;
    podRelay = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, relayScript, '127.0.0.1', String(apiPort), hostIp, String(hostRelay.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: podRelay!.stdout! });
      lines.once('line', () => resolve());
      podRelay!.once('exit', (code) => reject(new Error(`the pod's API relay exited with ${code}`)));
    });
  } catch (err) {
    await destroy();
    throw err;
  }
  const relay = hostRelay;
  return {
    name,
    podIp,
    spawn: (command, args, opts = {}) => spawn('nsenter', [`--net=${netnsPath}`, command, ...args], opts),
    cutApiServer: () => relay.cut(),
    restoreApiServer: () => relay.restore(),
    destroy,
  };
}

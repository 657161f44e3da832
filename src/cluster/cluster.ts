import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { resolveAssets } from '../envtest/assets.ts';
import { runCommand, type CommandResult } from '../envtest/command.ts';

const REPO_ROOT = new URL('../../', import.meta.url).pathname;
/** Where scripts/cluster-env.sh puts the cluster; the kubelet and containerd allow one per machine. */
export const CLUSTER_NETNS = 'hotdesk-kube';
export const NODE_IP = '10.44.0.1';

/** A running one-node cluster (scripts/cluster-up.sh), reachable only inside its network namespace. */
export interface Cluster {
  kubeconfigPath: string;
  /** The project's image as built from the Dockerfile and loaded into the node's containerd. */
  image: { repository: string; tag: string };
  kubectl(args: string[], opts?: { input?: string; namespace?: string }): Promise<CommandResult>;
  helm(args: string[]): Promise<CommandResult>;
  /** Runs a program inside the cluster's network namespace (where the node, Services and pods are). */
  inNetns(bin: string, args: string[], opts?: { input?: string }): Promise<CommandResult>;
  /** Tags the loaded image under another name in the node's containerd, as a registry would serve it. */
  tagImage(reference: string): Promise<void>;
  stop(): Promise<void>;
}

/** Runs a script of the project and returns its last stdout line (the scripts print their result there). */
function script(name: string, args: string[] = []): string {
  const out = execFileSync('bash', [join(REPO_ROOT, 'scripts', name), ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 << 20 });
  return out.trim().split('\n').at(-1) ?? '';
}

/** The image archive of scripts/build-image.sh: built when the tree's content changed, else reused. */
export function buildImage(): { archive: string; repository: string; tag: string } {
  const archive = script('build-image.sh');
  const tag = /^hotdesk-operator-([0-9a-f]+)\.tar$/.exec(basename(archive))?.[1];
  if (!tag) throw new Error(`unexpected image archive name: ${archive}`);
  return { archive, repository: 'localhost/hotdesk-operator', tag };
}

/**
 * Builds what is missing (image, node binaries), starts the one-node cluster with the image
 * loaded, and returns handles to it. stop() tears it down with scripts/cluster-down.sh; so does
 * the end of this process when the caller could not (a runner's timeout, Ctrl-C).
 */
export async function startCluster(): Promise<Cluster> {
  if (process.getuid?.() !== 0) throw new Error('the one-node cluster needs root (network namespace, mounts, cgroups)');
  const image = buildImage();
  const binDir = resolveAssets({ require: ['kubectl', 'helm'] });
  const down = () => {
    try {
      execFileSync('bash', [join(REPO_ROOT, 'scripts/cluster-down.sh')], { stdio: 'inherit' });
    } catch {
      // Reported by the script itself on stderr; nothing more to do while exiting.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    down();
    if (process.listenerCount(signal) === 1) {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    }
  };
  let kubeconfigPath: string;
  try {
    kubeconfigPath = script('cluster-up.sh', [image.archive]);
  } catch (err) {
    down();
    throw err;
  }
  process.once('exit', down);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const netns = ['--net=/run/netns/' + CLUSTER_NETNS];
  const inNetns = (bin: string, args: string[], opts: { input?: string } = {}) => runCommand('nsenter', [...netns, bin, ...args], { input: opts.input });
  const sock = join(process.env.HOTDESK_CLUSTER_DIR ?? '/var/tmp/hotdesk-cluster', 'containerd/state/containerd.sock');
  return {
    kubeconfigPath,
    image: { repository: image.repository, tag: image.tag },
    inNetns,
    kubectl: (args, opts = {}) => inNetns(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfigPath, ...(opts.namespace ? ['--namespace', opts.namespace] : []), ...args], { input: opts.input }),
    helm: (args) => inNetns(join(binDir, 'helm'), ['--kubeconfig', kubeconfigPath, ...args]),
    tagImage: async (reference) => {
      const r = await runCommand('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'tag', '--force', `${image.repository}:${image.tag}`, reference]);
      if (r.code !== 0) throw new Error(`ctr images tag ${reference}: ${r.stderr.trim()}`);
    },
    stop: async () => {
      process.removeListener('exit', down);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      down();
    },
  };
}

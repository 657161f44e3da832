import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Connection } from './args.ts';

/** A problem with the local configuration (not the server): printed as "error: ...", exit 1. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Target {
  kubeConfig: KubeConfig;
  /** The namespace commands work in (ignored by --all-namespaces listings). */
  namespace: string;
}

interface Environment {
  KUBECONFIG?: string | undefined;
  KUBERNETES_SERVICE_HOST?: string | undefined;
}

const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * Merges kubeconfig files the way kubectl does for a KUBECONFIG list: the first file to define a
 * cluster, user or context by name wins, and so does the first current-context that is set.
 * (client-node's own merge lets later files win and rejects duplicates, which kubectl users would trip over.)
 */
export function mergeFirstWins(configs: KubeConfig[]): KubeConfig {
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: firstByName(configs.map((c) => c.clusters ?? [])),
    users: firstByName(configs.map((c) => c.users ?? [])),
    contexts: firstByName(configs.map((c) => c.contexts ?? [])),
    currentContext: configs.map((c) => c.currentContext).find((name) => !!name) ?? '',
  });
  return merged;
}

/** Which kubeconfig files kubectl would read: --kubeconfig, else every existing $KUBECONFIG entry, else ~/.kube/config. */
export function kubeconfigFiles(flag: string | undefined, env: Environment, home: string, exists: (p: string) => boolean): string[] {
  if (flag) {
    if (!exists(flag)) throw new ConfigError(`stat ${flag}: no such file or directory`);
    return [flag];
  }
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((p) => p !== '' && exists(p));
  const fallback = join(home, '.kube', 'config');
  return exists(fallback) ? [fallback] : [];
}

function loadFiles(files: string[]): KubeConfig {
  return mergeFirstWins(
    files.map((file) => {
      const kc = new KubeConfig();
      try {
        kc.loadFromFile(file);
      } catch (err) {
        throw new ConfigError(`error loading config file "${file}": ${err instanceof Error ? err.message : String(err)}`);
      }
      return kc;
    }),
  );
}

/** The namespace to use: -n, else the context's, else "default" (kubectl's order). */
export function chooseNamespace(flag: string | undefined, contextNamespace: string | undefined): string {
  return flag || contextNamespace || 'default';
}

/** Loads the cluster to talk to exactly as kubectl would for the same flags and environment. */
export function loadTarget(connection: Connection, env: Environment = process.env, home: string = homedir()): Target {
  const files = kubeconfigFiles(connection.kubeconfig, env, home, existsSync);
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_NAMESPACE_FILE)) {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromCluster();
      return { kubeConfig, namespace: chooseNamespace(connection.namespace, kubeConfig.getContextObject(kubeConfig.currentContext)?.namespace) };
    }
    throw new ConfigError('no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config');
  }
  const kubeConfig = loadFiles(files);
  if (connection.context) {
    if (!kubeConfig.getContextObject(connection.context)) throw new ConfigError(`context was not found for specified context: ${connection.context}`);
    kubeConfig.setCurrentContext(connection.context);
  }
  if (!kubeConfig.currentContext) throw new ConfigError('current-context is not set in the kubeconfig: pass --context or run "kubectl config use-context"');
  const context = kubeConfig.getContextObject(kubeConfig.currentContext);
  if (!context) throw new ConfigError(`context was not found for specified context: ${kubeConfig.currentContext}`);
  if (!kubeConfig.getCluster(context.cluster)) throw new ConfigError(`cluster "${context.cluster}" of context "${context.name}" is not in the kubeconfig`);
  return { kubeConfig, namespace: chooseNamespace(connection.namespace, context.namespace) };
}

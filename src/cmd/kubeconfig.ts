import { KubeConfig } from '@kubernetes/client-node';

/** KUBECONFIG or ~/.kube/config outside a cluster, the pod's service account inside one. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

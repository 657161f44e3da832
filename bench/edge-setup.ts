import { startControlPlane, type ControlPlane } from '../src/envtest/controlplane.ts';
import { ControllerProcess } from './controller-process.ts';
import { EdgeProcess } from './edge-process.ts';
import { createFleet, createPool, EDGE_POOL, waitForConfigMaps } from './edge-fleet.ts';
import { freeUdpPort } from './sip-peers.ts';

export interface EdgeFleet {
  plane: ControlPlane;
  namespace: string;
  devices: number;
  users: number;
  controller: ControllerProcess;
  edge: EdgeProcess;
  /** Seconds from the first create until every device's ConfigMap existed. */
  settleSeconds: number;
  /** Seconds the edge took from spawn to serving (its informers listed the whole fleet). */
  edgeStartSeconds: number;
}

const log = (msg: string) => process.stderr.write(`[bench edge ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/**
 * A control plane, the controller (its own process), a pool whose PBX is `pbx`, `devices` desks
 * and `users` users, all rendered; then the edge (its own process) once the controller settled.
 */
export async function withEdgeFleet<T>(opts: { devices: number; users: number; pbx: { host: string; port: number } }, fn: (fleet: EdgeFleet) => Promise<T>): Promise<T> {
  const plane = await startControlPlane();
  let controller: ControllerProcess | undefined;
  let edge: EdgeProcess | undefined;
  try {
    const namespace = 'bench-edge';
    controller = await ControllerProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace });
    const started = performance.now();
    await createPool(plane.kubeConfig, namespace, opts.pbx);
    log(`creating ${opts.users} users and ${opts.devices} devices`);
    await createFleet(plane.kubeConfig, namespace, { devices: opts.devices, users: opts.users });
    log('waiting for the controller to render every ConfigMap');
    let last = -1;
    await waitForConfigMaps(plane.kubeConfig, namespace, opts.devices, 30 * 60_000, (n) => {
      if (n !== last && n % 1000 < 200) log(`${n} ConfigMaps`);
      last = n;
    });
    const settleSeconds = (performance.now() - started) / 1000;
    log(`fleet rendered in ${settleSeconds.toFixed(0)} s; starting the edge`);
    const edgeStarted = performance.now();
    edge = await EdgeProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace, pool: EDGE_POOL }, await freeUdpPort());
    const edgeStartSeconds = (performance.now() - edgeStarted) / 1000;
    return await fn({ plane, namespace, devices: opts.devices, users: opts.users, controller, edge, settleSeconds, edgeStartSeconds });
  } finally {
    await edge?.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    await plane.stop();
  }
}

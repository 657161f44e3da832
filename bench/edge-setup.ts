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

/** Until the controller used under 5 % of a core over two 5-second windows in a row. */
async function waitUntilIdle(controller: ControllerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let before = controller.cpuSeconds();
  while (quiet < 2) {
    if (Date.now() > deadline) throw new Error('the controller did not settle');
    await new Promise((r) => setTimeout(r, 5_000));
    const now = controller.cpuSeconds();
    quiet = now - before < 0.25 ? quiet + 1 : 0;
    log(`controller CPU ${((now - before) / 5 * 100).toFixed(0)} % of a core`);
    before = now;
  }
}

/**
 * A control plane, the controller (its own process), a pool whose PBX is `pbx`, `devices` desks
 * and `users` users, all rendered; then the edge (its own process) once the controller settled.
 */
export async function withEdgeFleet<T>(opts: { devices: number; users: number; pbx: { host: string; port: number }; edgeCpuProfileDir?: string | undefined; controllerCpuProfileDir?: string | undefined }, fn: (fleet: EdgeFleet) => Promise<T>): Promise<T> {
  const plane = await startControlPlane();
  let controller: ControllerProcess | undefined;
  let edge: EdgeProcess | undefined;
  try {
    const namespace = 'bench-edge';
    controller = await ControllerProcess.start({ kubeconfigPath: plane.kubeconfigPath, namespace, cpuProfileDir: opts.controllerCpuProfileDir });
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
    // ConfigMaps exist before the controller's status writes finish: wait until it is idle too.
    await waitUntilIdle(controller, 20 * 60_000);
    const settleSeconds = (performance.now() - started) / 1000;
    log(`fleet rendered in ${settleSeconds.toFixed(0)} s; starting the edge`);
    const edgeStarted = performance.now();
    edge = await EdgeProcess.start({
      kubeconfigPath: plane.kubeconfigPath, namespace, pool: EDGE_POOL,
      ...(opts.edgeCpuProfileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${opts.edgeCpuProfileDir}`] } : {}),
    }, await freeUdpPort());
    const edgeStartSeconds = (performance.now() - edgeStarted) / 1000;
    return await fn({ plane, namespace, devices: opts.devices, users: opts.users, controller, edge, settleSeconds, edgeStartSeconds });
  } finally {
    await edge?.stop().catch(() => undefined);
    await controller?.stop().catch(() => undefined);
    await plane.stop();
  }
}

import { after, before } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { createController } from '../../src/controller/controller.ts';
import type { Manager } from '../../src/runtime/index.ts';

export interface RunningController {
  plane(): ControlPlane;
  manager(): Manager;
}

/**
 * A real control plane with the controller running against it (one replica, no leader election),
 * for the tests of one file: started before them, stopped after.
 */
export function runningController(): RunningController {
  let cp: ControlPlane | undefined;
  let mgr: Manager | undefined;
  before(async () => {
    cp = await startControlPlane();
    mgr = createController({ kubeConfig: cp.kubeConfig, leaderElection: false, server: { host: '127.0.0.1', port: 0 } });
    await mgr.start();
  });
  after(async () => {
    await mgr?.stop();
    await cp?.stop();
  });
  const started = <T>(what: string, value: T | undefined): T => {
    if (value === undefined) throw new Error(`the ${what} starts in before()`);
    return value;
  };
  return { plane: () => started('control plane', cp), manager: () => started('controller', mgr) };
}

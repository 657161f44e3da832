import assert from 'node:assert/strict';
import type { ControlPlane } from '../../src/envtest/controlplane.ts';

/** kubectl apply and get -o json against a test's control plane, which before() sets later. */
export function kubectlHelpers(plane: () => ControlPlane) {
  return {
    async apply(yaml: string): Promise<void> {
      const r = await plane().kubectl(['apply', '-f', '-'], { input: yaml });
      assert.equal(r.code, 0, r.stderr);
    },
    async getJson<T = any>(ns: string, ...what: string[]): Promise<T | undefined> {
      const r = await plane().kubectl(['get', ...what, '-o', 'json'], { namespace: ns });
      if (r.code !== 0) return undefined;
      return JSON.parse(r.stdout) as T;
    },
  };
}

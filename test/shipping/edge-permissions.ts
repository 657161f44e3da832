import { edgeRoleRules } from '../../src/controller/edge-objects.ts';

/**
 * What a pool's edge is allowed to do (design brief). The controller creates one Role like this per
 * pool, which the API server accepts only if the controller holds every one of these permissions
 * itself; shipping tests create it while impersonating the controller to prove that.
 */
export function edgeRoleManifest(namespace: string, name = 'hotdesk-edge'): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace },
    // The rules the controller really grants each pool's edge, naming two Secrets as a pool would.
    rules: edgeRoleRules(['alice-sip', 'desk-idle']),
  };
}

/** A Role asking for more than the controller holds: writing Secrets. */
export function overreachingRoleManifest(namespace: string): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'hotdesk-overreach', namespace },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'update'] }],
  };
}

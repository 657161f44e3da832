/**
 * An edge with provisioningWorkers 0 serves the phones' files from its own process, straight from
 * its informer caches: the idle file first, then, once an administrator seats alice at the desk,
 * her file with her SIP password filled in.
 */
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { after, before, describe, it } from 'node:test';
import { sessionYaml } from './manifests.ts';
import { ALICE, eventually, fetchProvisioning, startStack, type Stack } from './stack.ts';

let stack: Stack;
before(async () => {
  stack = await startStack({ namespace: 'e2e-provisioning', provisioningWorkers: 0 });
});
after(async () => {
  await stack?.stop();
});

describe('provisioning from the edge process itself', { timeout: 90_000 }, () => {
  it('serves the idle file, then the occupant\'s, with no worker process', async () => {
    assert.equal(Object.keys(cluster.workers ?? {}).length, 0, 'no provisioning worker was started');
    const idle = await fetchProvisioning(stack, '00156500a001.cfg', '00156500a001:prov-idle-Secret-Pw1');
    assert.match(idle, /account\.1\.user_name = HD0001/);
    await assert.rejects(fetchProvisioning(stack, '00156500a001.cfg', '00156500a001:wrong'), /answered 404/);

    await stack.apply(sessionYaml(stack.ns, 'alice-at-desk-1', 'desk-1', ALICE.name));
    const seated = await eventually('alice\'s file served', async () => {
      const file = await fetchProvisioning(stack, '00156500a001.cfg', '00156500a001:prov-idle-Secret-Pw1');
      return file.includes(`account.1.user_name = ${ALICE.extension}`) ? file : undefined;
    });
    assert.match(seated, /alice-Secret-Pw1/, 'her SIP password, filled in as the file is served');
  });
});

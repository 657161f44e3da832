import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceSecretReferences, poolSecrets, secretOptIn, userSecretReferences, type SecretLabels } from '../../src/policy/secret-opt-in.ts';
import { sessionPoolLabel } from '../../src/policy/session-pool-label.ts';
import type { HotDeskDevice, HotDeskUser } from '../../src/api/index.ts';

const ref = { field: 'spec.secretRef.name', name: 'alice-sip' };

test('secretOptIn: a Secret is usable by a pool only when it is labelled for that pool', () => {
  const cases: Array<{ name: string; labels: SecretLabels; allowed: boolean; reason?: string; says?: RegExp }> = [
    { name: 'labelled for the pool', labels: { 'hotdesk.io/pool': 'london' }, allowed: true },
    { name: 'labelled for the pool among other labels', labels: { app: 'x', 'hotdesk.io/pool': 'london' }, allowed: true },
    { name: 'no labels at all', labels: {}, allowed: false, reason: 'SecretNotOptedIn', says: /kubectl label secret alice-sip hotdesk\.io\/pool=london/ },
    { name: 'other labels only', labels: { app: 'sip' }, allowed: false, reason: 'SecretNotOptedIn' },
    { name: 'labelled for another pool', labels: { 'hotdesk.io/pool': 'paris' }, allowed: false, reason: 'SecretForOtherPool', says: /labelled for pool paris/ },
    { name: 'label value differs in case', labels: { 'hotdesk.io/pool': 'London' }, allowed: false, reason: 'SecretForOtherPool' },
    { name: 'empty label value', labels: { 'hotdesk.io/pool': '' }, allowed: false, reason: 'SecretForOtherPool' },
    { name: 'a similar label key does not count', labels: { 'hotdesk.io/pools': 'london' }, allowed: false, reason: 'SecretNotOptedIn' },
    { name: 'the Secret does not exist', labels: null, allowed: false, reason: 'SecretNotFound' },
  ];
  for (const c of cases) {
    const got = secretOptIn(ref, 'london', c.labels);
    assert.equal(got.allowed, c.allowed, c.name);
    if (!got.allowed) {
      assert.equal(got.reason, c.reason, c.name);
      assert.equal(got.field, 'spec.secretRef.name', c.name);
      assert.match(got.message, /^spec\.secretRef\.name: Secret alice-sip /, `${c.name}: the message starts with the field`);
      if (c.says) assert.match(got.message, c.says, c.name);
    }
  }
});

test('the references name the field of each Secret a user or device names', () => {
  const user = { spec: { secretRef: { name: 'alice-sip' } } } as unknown as HotDeskUser;
  assert.deepEqual(userSecretReferences(user), [{ field: 'spec.secretRef.name', name: 'alice-sip' }]);
  const device = { spec: { idleIdentity: { secretRef: { name: 'idle' } }, provisioningAuth: { secretRef: { name: 'prov' } } } } as unknown as HotDeskDevice;
  assert.deepEqual(deviceSecretReferences(device), [
    { field: 'spec.idleIdentity.secretRef.name', name: 'idle' },
    { field: 'spec.provisioningAuth.secretRef.name', name: 'prov' },
  ]);
  const noAuth = { spec: { idleIdentity: { secretRef: { name: 'idle' } } } } as unknown as HotDeskDevice;
  assert.deepEqual(deviceSecretReferences(noAuth).map((r) => r.name), ['idle']);
});

test("poolSecrets: the edge's Role names only opted-in Secrets, each once, sorted", () => {
  const labels: Record<string, SecretLabels> = {
    'alice-sip': { 'hotdesk.io/pool': 'london' },
    'bob-sip': {},
    idle: { 'hotdesk.io/pool': 'london' },
    'kube-admin-token': {},
    'paris-sip': { 'hotdesk.io/pool': 'paris' },
  };
  const refs = [
    { field: 'spec.secretRef.name', name: 'bob-sip' },
    { field: 'spec.secretRef.name', name: 'alice-sip' },
    { field: 'spec.idleIdentity.secretRef.name', name: 'idle' },
    { field: 'spec.provisioningAuth.secretRef.name', name: 'idle' },
    { field: 'spec.provisioningAuth.secretRef.name', name: 'kube-admin-token' },
    { field: 'spec.secretRef.name', name: 'paris-sip' },
    { field: 'spec.secretRef.name', name: 'missing' },
  ];
  const got = poolSecrets(refs, 'london', (name) => labels[name] ?? null);
  assert.deepEqual(got.allowed, ['alice-sip', 'idle']);
  assert.deepEqual(got.refused.map((r) => `${r.secret}:${r.reason}`), ['bob-sip:SecretNotOptedIn', 'kube-admin-token:SecretNotOptedIn', 'paris-sip:SecretForOtherPool', 'missing:SecretNotFound']);
  assert.deepEqual(poolSecrets([], 'london', () => null), { allowed: [], refused: [] });
});

test("sessionPoolLabel: a session carries its device's pool, or is refused", () => {
  const cases: Array<{ name: string; labels: Record<string, string> | undefined; want: string }> = [
    { name: 'labelled for the device pool', labels: { 'hotdesk.io/pool': 'london' }, want: 'keep' },
    { name: 'no labels (kubectl hotdesk login)', labels: undefined, want: 'label' },
    { name: 'other labels only', labels: { app: 'booking' }, want: 'label' },
    { name: 'labelled for another pool', labels: { 'hotdesk.io/pool': 'paris' }, want: 'refuse' },
  ];
  for (const c of cases) {
    const got = sessionPoolLabel(c.labels, 'desk-1', 'london');
    assert.equal(got.action, c.want, c.name);
    if (got.action === 'label') assert.deepEqual(got.labels, { 'hotdesk.io/pool': 'london' });
    if (got.action === 'refuse') assert.match(got.message, /labelled for pool paris, but device desk-1 belongs to pool london/);
  }
});

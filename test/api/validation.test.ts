import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';

const SAMPLES = new URL('../../config/samples/', import.meta.url).pathname;
let cp: ControlPlane;
let seq = 0;

before(async () => {
  cp = await startControlPlane();
});

after(async () => {
  await cp?.stop();
});

function uniqueName(prefix: string): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

async function apply(manifest: string) {
  return cp.kubectl(['apply', '-f', '-'], { input: manifest });
}

function pool(name: string, specExtra: string): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskPool
metadata: {name: ${name}}
spec:
  pbx: {host: pbx.example.com}
  emergency: {numbers: ["911"]}
${specExtra}
`;
}

function device(name: string, mac: string, extra = ''): string {
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskDevice
metadata: {name: ${name}}
spec:
  mac: "${mac}"
  vendor: yealink
  pool: london-office
  idleIdentity: {username: HD0099, secretRef: {name: idle}}
${extra}
`;
}

/** Applying must fail, nothing may be created, and the error must name the field and the fix. */
async function assertRejected(manifest: string, kind: string, name: string, expected: RegExp[]): Promise<void> {
  const res = await apply(manifest);
  assert.notEqual(res.code, 0, `expected the API server to reject:\n${manifest}\nbut it said: ${res.stdout}`);
  for (const re of expected) assert.match(res.stderr, re);
  const got = await cp.kubectl(['get', kind, name, '--ignore-not-found', '-o', 'name']);
  assert.equal(got.stdout.trim(), '', `${kind}/${name} must not exist after a rejected apply`);
}

test('the samples apply cleanly and kubectl get hotdesk lists every kind', async () => {
  const applied = await cp.kubectl(['apply', '-k', SAMPLES]);
  assert.equal(applied.code, 0, applied.stderr);
  const listed = await cp.kubectl(['get', 'hotdesk', '-o', 'name']);
  assert.equal(listed.code, 0, listed.stderr);
  for (const expected of [
    'hotdeskpool.hotdesk.io/london-office',
    'hotdeskpool.hotdesk.io/berlin-office',
    'hotdeskuser.hotdesk.io/alice',
    'hotdeskuser.hotdesk.io/bob',
    'hotdeskdevice.hotdesk.io/desk-3f-12',
    'hotdeskdevice.hotdesk.io/desk-3f-14',
    'hotdeskdevice.hotdesk.io/meeting-room-2',
    'hotdesksession.hotdesk.io/alice-at-desk-3f-12',
  ]) assert.ok(listed.stdout.split('\n').includes(expected), `kubectl get hotdesk lacks ${expected}:\n${listed.stdout}`);

  const table = await cp.kubectl(['get', 'hotdeskdevices']);
  assert.match(table.stdout, /^NAME\s+MAC\s+VENDOR\s+MODEL\s+PHASE\s+OCCUPANT\s+AGE$/m);
  assert.match(table.stdout, /^desk-3f-12\s+805ec0a1b2c3\s+yealink\s+T54W\s/m);
  const users = await cp.kubectl(['get', 'hdu']);
  assert.match(users.stdout, /^alice\s+101\s+Alice Archer\s+london-office\s+true\s/m);
});

test('the API server fills in the documented defaults', async () => {
  const name = uniqueName('defaults');
  const res = await apply(pool(name, ''));
  assert.equal(res.code, 0, res.stderr);
  const got = await cp.kubectl(['get', 'hotdeskpool', name, '-o', 'json']);
  const spec = JSON.parse(got.stdout).spec;
  assert.equal(spec.pbx.port, 5060);
  assert.equal(spec.pbx.transport, 'udp');
  assert.equal(spec.featureCodes.preset, '3cx');
  assert.equal(spec.emergency.callerIdHeader, 'P-Emergency-Info');
  assert.deepEqual(spec.sessionPolicy, { loggedInElsewhere: 'kick', timeZone: 'UTC', retention: '24h' });
  assert.deepEqual(spec.pinPolicy, { minLength: 4, maxLength: 8, maxAttempts: 3, lockoutDuration: '15m' });
  assert.equal(spec.edge.replicas, 1);
  assert.equal(spec.edge.sipPort, 5060);
});

const poolRejections: { what: string; spec: string; expected: RegExp[] }[] = [
  {
    what: 'overlapping feature codes (login *7, logout *77*5*)',
    spec: '  featureCodes: {login: "*7", logout: "*77*5*"}',
    expected: [/spec\.featureCodes\.logout/, /login "\*7" and logout "\*77\*5\*" overlap/, /change one of them/],
  },
  {
    what: 'a login code that is a prefix of the 3CX *77* login prefix',
    spec: '  featureCodes: {preset: 3cx, login: "*7"}',
    expected: [/spec\.featureCodes\.login/, /overlaps loginWithExtension "\*77\*"/],
  },
  {
    what: 'a feature code with letters',
    spec: '  featureCodes: {logout: "*7a"}',
    expected: [/spec\.featureCodes\.logout/, /only digits, \* and #/],
  },
  {
    what: 'an unknown time zone',
    spec: '  sessionPolicy: {timeZone: Mars/Olympus}',
    expected: [/spec\.sessionPolicy\.timeZone/, /IANA time zone/],
  },
  {
    what: 'an emergency number that is not all digits',
    spec: '  emergency: {numbers: ["911", "11a"]}',
    expected: [/spec\.emergency\.numbers\[1\]/, /digits only/],
  },
  {
    what: 'a duration with a unit Go does not know',
    spec: '  sessionPolicy: {maxDuration: "1d"}',
    expected: [/spec\.sessionPolicy\.maxDuration/, /must be a duration such as 8h/],
  },
  {
    what: 'a time of day past 23:59',
    spec: '  sessionPolicy: {dailyLogoutTime: "24:00"}',
    expected: [/spec\.sessionPolicy\.dailyLogoutTime/, /"HH:MM"/],
  },
  {
    what: 'a PIN minLength above maxLength',
    spec: '  pinPolicy: {minLength: 10, maxLength: 6}',
    expected: [/spec\.pinPolicy\.minLength/, /must not be greater than pinPolicy\.maxLength/],
  },
  {
    what: 'PIN attempts out of bounds',
    spec: '  pinPolicy: {maxAttempts: 11}',
    expected: [/spec\.pinPolicy\.maxAttempts/, /less than or equal to 10/],
  },
  {
    what: 'a custom preset without codes',
    spec: '  featureCodes: {preset: custom}',
    expected: [/spec\.featureCodes/, /preset custom needs featureCodes\.logout/],
  },
];

for (const { what, spec, expected } of poolRejections) {
  test(`a pool with ${what} is rejected with a message naming the field`, async () => {
    const name = uniqueName('pool');
    await assertRejected(pool(name, spec), 'hotdeskpool', name, expected);
  });
}

test('feature codes that only look alike are accepted: Yeastar codes, and 3CX logout as a complete *77*EXT* dial', async () => {
  for (const spec of ['  featureCodes: {preset: yeastar}', '  featureCodes: {preset: 3cx, login: "*88"}', '  featureCodes: {preset: custom, login: "*11", logout: "*12"}']) {
    const res = await apply(pool(uniqueName('codes'), spec));
    assert.equal(res.code, 0, `${spec}: ${res.stderr}`);
  }
});

test('a bad MAC is rejected, and a MAC with separators is answered with its canonical spelling', async () => {
  const a = uniqueName('dev');
  await assertRejected(device(a, 'not-a-mac'), 'hotdeskdevice', a, [/spec\.mac/, /12 lowercase hex digits/]);
  const b = uniqueName('dev');
  await assertRejected(device(b, '80:5E:C0:A1:B2:FF'), 'hotdeskdevice', b, [/spec\.mac/, /write 805ec0a1b2ff instead/]);
});

test('the MAC of a device cannot be changed after creation', async () => {
  const name = uniqueName('dev');
  const created = await apply(device(name, '805ec0000001'));
  assert.equal(created.code, 0, created.stderr);
  const changed = await apply(device(name, '805ec0000002'));
  assert.notEqual(changed.code, 0);
  assert.match(changed.stderr, /spec\.mac/);
  assert.match(changed.stderr, /mac is immutable/);
  const got = await cp.kubectl(['get', 'hotdeskdevice', name, '-o', 'jsonpath={.spec.mac}']);
  assert.equal(got.stdout, '805ec0000001');
});

test('a custom-vendor device needs its template', async () => {
  const name = uniqueName('dev');
  await assertRejected(device(name, '805ec0000003').replace('vendor: yealink', 'vendor: custom'), 'hotdeskdevice', name, [
    /spec\.customTemplate/,
    /customTemplate is required when vendor is custom/,
  ]);
});

test('the device and user of a session cannot be changed', async () => {
  const name = uniqueName('session');
  const manifest = (deviceName: string, user: string) =>
    `apiVersion: hotdesk.io/v1alpha1\nkind: HotDeskSession\nmetadata: {name: ${name}}\nspec: {device: ${deviceName}, user: ${user}}\n`;
  const created = await apply(manifest('desk-3f-12', 'bob'));
  assert.equal(created.code, 0, created.stderr);
  const moved = await apply(manifest('desk-3f-14', 'bob'));
  assert.notEqual(moved.code, 0);
  assert.match(moved.stderr, /spec\.device: .*device is immutable/);
  const swapped = await apply(manifest('desk-3f-12', 'alice'));
  assert.notEqual(swapped.code, 0);
  assert.match(swapped.stderr, /spec\.user: .*user is immutable/);
});

test('kubectl explain prints the field descriptions', async () => {
  const res = await cp.kubectl(['explain', 'hotdeskdevice.spec.mac']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /FIELD: mac <string>/);
  assert.match(res.stdout, /12 lowercase hex digits without\s+separators/);
  const pin = await cp.kubectl(['explain', 'hdpool.spec.pinPolicy.maxAttempts']);
  assert.match(pin.stdout, /Wrong PINs in a row/);
});

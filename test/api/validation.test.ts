import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { featureCodeProblems, type FeatureCodesInput } from '../../src/api/feature-codes.ts';

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
  assert.equal(spec.pbx.port, undefined, 'unset: the edge looks the PBX up in DNS (SRV, then A/AAAA on 5060)');
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

function poolWithCodes(name: string, codes: FeatureCodesInput, numbers: string[]): string {
  // JSON is YAML: the codes go in exactly as the table states them.
  return `apiVersion: hotdesk.io/v1alpha1
kind: HotDeskPool
metadata: {name: ${name}}
spec:
  pbx: {host: pbx.example.com}
  featureCodes: ${JSON.stringify(codes)}
  emergency: {numbers: ${JSON.stringify(numbers)}}
`;
}

const emergencyClashes: { what: string; codes: FeatureCodesInput; numbers: string[]; expected: RegExp[] }[] = [
  {
    what: 'a login code equal to an emergency number (login 112, emergency [112])',
    codes: { preset: '3cx', login: '112' },
    numbers: ['911', '112'],
    expected: [/spec\.featureCodes\.login/, /featureCodes\.login "112" clashes with emergency number 112/, /instead of the emergency service; change featureCodes\.login/],
  },
  {
    what: 'a login code that is a prefix of an emergency number',
    codes: { preset: 'yeastar', login: '91' },
    numbers: ['911'],
    expected: [/spec\.featureCodes\.login/, /"91" clashes with emergency number 911/],
  },
  {
    what: 'a logout code that starts with an emergency number',
    codes: { preset: 'custom', login: '*5', logout: '1120' },
    numbers: ['112'],
    expected: [/spec\.featureCodes\.logout/, /"1120" clashes with emergency number 112/],
  },
  {
    what: 'a digit-only extension prefix, so 112 would read as a login for extension 2',
    codes: { preset: 'custom', logout: '*9', loginWithExtension: { prefix: '11' } },
    numbers: ['112'],
    expected: [/spec\.featureCodes\.loginWithExtension\.prefix/, /"11" clashes with emergency number 112/],
  },
];

for (const { what, codes, numbers, expected } of emergencyClashes) {
  test(`a pool with ${what} is rejected`, async () => {
    const name = uniqueName('sos');
    await assertRejected(poolWithCodes(name, codes, numbers), 'hotdeskpool', name, expected);
  });
}

test('the API server and featureCodeProblems agree on which codes can all be dialled', async () => {
  const table: [FeatureCodesInput, string[]][] = [
    [{ preset: '3cx' }, ['911', '112']],
    [{ preset: 'yeastar' }, ['999']],
    [{ preset: '3cx', login: '112' }, ['112']],
    [{ preset: '3cx', login: '*88' }, ['112']],
    [{ preset: 'custom', login: '*112', logout: '#112' }, ['112']],
    [{ preset: 'custom', login: '0', logout: '*0' }, ['000']],
    [{ preset: 'yeastar', logout: '*930' }, ['911']],
    [{ preset: 'custom', logout: '*9', loginWithExtension: { prefix: '*8', suffix: '#' } }, ['911', '88']],
  ];
  for (const [codes, numbers] of table) {
    const name = uniqueName('agree');
    const res = await apply(poolWithCodes(name, codes, numbers));
    const problems = featureCodeProblems(codes, numbers);
    assert.equal(res.code === 0, problems.length === 0, `${JSON.stringify(codes)} with ${JSON.stringify(numbers)}: API server says ${res.code === 0 ? 'fine' : res.stderr}, featureCodeProblems says ${JSON.stringify(problems)}`);
  }
});

test('pool and device names that could not label their objects are refused, naming metadata.name', async () => {
  const longPool = `p${'o'.repeat(63)}`;
  await assertRejected(pool(longPool, ''), 'hotdeskpool', longPool, [/metadata\.name of a HotDeskPool may have at most 63 characters/, /choose a shorter name/]);
  const longDevice = `d${'e'.repeat(69)}`;
  await assertRejected(device(longDevice, '805ec0000070'), 'hotdeskdevice', longDevice, [/metadata\.name of a HotDeskDevice may have at most 63 characters/]);
});

test('pool names that are no Service name are accepted: the edge gets a derived name', async () => {
  for (const name of ['london.office', '3rd-floor', `p${'o'.repeat(62)}`]) {
    const res = await apply(pool(name, ''));
    assert.equal(res.code, 0, `${name}: ${res.stderr}`);
  }
  const res = await apply(device(`d${'e'.repeat(62)}`, '805ec0000063'));
  assert.equal(res.code, 0, res.stderr);
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

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { GROUP_VERSION, KINDS } from '../../src/api/group.ts';
import { runCommand, type CommandResult } from '../../src/envtest/command.ts';
import { startControlPlane, type ControlPlane } from '../../src/envtest/controlplane.ts';
import { freePort } from '../../src/envtest/ports.ts';

const PLUGIN = fileURLToPath(new URL('../../bin/kubectl-hotdesk.js', import.meta.url));
const SESSION = KINDS.session.plural;

/** The desks of two offices: the context's namespace (default) and a branch office. */
function manifests(namespace: string, prefix: string, users: [string, string, string][], devices: [string, string][]): string {
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'credentials', namespace, labels: { 'hotdesk.io/pool': 'main' } }, stringData: { password: 'p', pin: '1234' } },
    {
      apiVersion: GROUP_VERSION, kind: KINDS.pool.kind, metadata: { name: 'main', namespace },
      spec: { pbx: { host: `${prefix}.pbx.example` }, emergency: { numbers: ['112'] } },
    },
    ...users.map(([name, extension, displayName]) => ({
      apiVersion: GROUP_VERSION, kind: KINDS.user.kind, metadata: { name, namespace },
      spec: { pool: 'main', extension, displayName, secretRef: { name: 'credentials' } },
    })),
    ...devices.map(([name, mac], i) => ({
      apiVersion: GROUP_VERSION, kind: KINDS.device.kind, metadata: { name, namespace },
      spec: {
        mac, vendor: 'yealink', model: 'T54W', pool: 'main', location: `${prefix} desk ${i + 1}`,
        idleIdentity: { username: `HD${prefix}${i + 1}`, secretRef: { name: 'credentials' } },
      },
    })),
  ];
  return docs.map((d) => stringifyYaml(d)).join('---\n');
}

function isoAgo(ms: number): string {
  return new Date(Date.now() - ms).toISOString();
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface SessionJson {
  metadata: { name: string };
  spec: { device: string; user: string; origin: string };
  status?: { phase?: string };
}

describe('kubectl hotdesk against a real API server', () => {
  let cp: ControlPlane;
  let scratch: string;
  /** PATH with the Node running this test first, as a user with Node 24 installed would have it. */
  let path: string;

  const ok = (r: CommandResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  /** Runs the plugin the way kubectl execs it: the file itself, found via its shebang and PATH. */
  function plugin(args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
    return runCommand(PLUGIN, args, { env: { ...process.env, PATH: path, KUBECONFIG: cp.kubeconfigPath, ...env } });
  }

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, input === undefined ? {} : { input });
    ok(r);
    return r.stdout;
  }

  async function sessions(namespace = 'default'): Promise<SessionJson[]> {
    return (JSON.parse(await kubectl(['get', SESSION, '-n', namespace, '-o', 'json'])) as { items: SessionJson[] }).items;
  }

  async function patchStatus(plural: string, name: string, status: unknown, namespace = 'default'): Promise<void> {
    await kubectl(['patch', plural, name, '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  }

  /** What the controller would do for a login at a desk: the session and the device both say who is there. */
  async function occupy(namespace: string, deviceName: string, userName: string, extension: string, session: string, startedAt: string): Promise<void> {
    await kubectl(['apply', '-n', namespace, '-f', '-'], stringifyYaml({
      apiVersion: GROUP_VERSION, kind: KINDS.session.kind, metadata: { name: session, namespace },
      spec: { device: deviceName, user: userName, origin: 'featureCode' },
    }));
    await patchStatus(SESSION, session, { phase: 'Active', startedAt }, namespace);
    await patchStatus(KINDS.device.plural, deviceName, {
      phase: 'Occupied', occupant: { user: userName, extension, session }, configRevision: 'r7',
      lastResync: { sentAt: isoAgo(20 * 60_000) },
    }, namespace);
  }

  before(async () => {
    cp = await startControlPlane();
    scratch = mkdtempSync(join(tmpdir(), 'hotdesk-cli-'));
    path = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
    await kubectl(['create', 'namespace', 'branch']);
    await kubectl(['apply', '-f', '-'], manifests('default', 'hq', [['alice', '101', 'Alice Smith'], ['bob', '102', 'Bob Jones']], [['desk-1', '001565aabb01'], ['desk-2', '001565aabb02']]));
    await kubectl(['apply', '-f', '-'], manifests('branch', 'br', [['carol', '201', 'Carol Diaz']], [['lobby', '001565aabb11']]));
  });

  after(async () => {
    await cp?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  test('who lists every desk of the context namespace as idle before anyone logs in', async () => {
    const r = await plugin(['who']);
    ok(r);
    assert.equal(r.stdout, [
      'DEVICE   POOL   STATE   EXTENSION   USER     SINCE',
      'desk-1   main   idle    <none>      <none>   <none>',
      'desk-2   main   idle    <none>      <none>   <none>',
      '',
    ].join('\n'));
  });

  test('who shows the occupant, the name and since when; -A adds the other namespaces; -o json has the same facts', async () => {
    await occupy('default', 'desk-1', 'alice', '101', 'desk-1-s1', isoAgo(20 * 60_000));
    await occupy('branch', 'lobby', 'carol', '201', 'lobby-s1', isoAgo(4 * 3_600_000 + 10 * 60_000));

    const who = await plugin(['who']);
    ok(who);
    assert.equal(who.stdout, [
      'DEVICE   POOL   STATE      EXTENSION   USER          SINCE',
      'desk-1   main   occupied   101         Alice Smith   20m',
      'desk-2   main   idle       <none>      <none>        <none>',
      '',
    ].join('\n'));

    const all = await plugin(['who', '-A']);
    ok(all);
    assert.equal(all.stdout, [
      'NAMESPACE   DEVICE   POOL   STATE      EXTENSION   USER          SINCE',
      'branch      lobby    main   occupied   201         Carol Diaz    4h10m',
      'default     desk-1   main   occupied   101         Alice Smith   20m',
      'default     desk-2   main   idle       <none>      <none>        <none>',
      '',
    ].join('\n'));

    const json = await plugin(['-n', 'branch', 'who', '-o', 'json']);
    ok(json);
    const desks = JSON.parse(json.stdout) as { device: string; state: string; extension: string; displayName: string; session: string }[];
    assert.deepEqual(desks.map((d) => [d.device, d.state, d.extension, d.displayName, d.session]), [['lobby', 'occupied', '201', 'Carol Diaz', 'lobby-s1']]);
  });

  test('devices shows MAC, vendor, model, phase, occupant, config revision and the last re-sync', async () => {
    const r = await plugin(['devices']);
    ok(r);
    assert.equal(r.stdout, [
      'NAME     MAC                 VENDOR    MODEL   PHASE      OCCUPANT   REVISION   LAST RESYNC',
      'desk-1   00:15:65:aa:bb:01   yealink   T54W    Occupied   101        r7         20m (no ack)',
      'desk-2   00:15:65:aa:bb:02   yealink   T54W    <none>     <none>     <none>     <none>',
      '',
    ].join('\n'));
    const yaml = await plugin(['devices', '-n', 'branch', '-o', 'yaml']);
    ok(yaml);
    const list = parseYaml(yaml.stdout) as { kind: string; items: { metadata: { name: string }; spec: { mac: string } }[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(list.items.map((d) => [d.metadata.name, d.spec.mac]), [['lobby', '001565aabb11']]);
  });

  test('the namespace comes from --context, and -n overrides it, with KUBECONFIG listing several files', async () => {
    const config = parseYaml(readFileSync(cp.kubeconfigPath, 'utf8')) as { contexts: { name: string; context: Record<string, string> }[] };
    const base = config.contexts[0]!.context;
    const extra = join(scratch, 'branch-kubeconfig');
    writeFileSync(extra, stringifyYaml({ apiVersion: 'v1', kind: 'Config', contexts: [{ name: 'branch-office', context: { ...base, namespace: 'branch' } }] }));
    const env = { KUBECONFIG: [cp.kubeconfigPath, extra].join(delimiter) };

    const viaContext = await plugin(['who', '--context', 'branch-office'], env);
    ok(viaContext);
    assert.match(viaContext.stdout, /^lobby +main +occupied +201 +Carol Diaz/m);
    assert.doesNotMatch(viaContext.stdout, /desk-1/);

    const overridden = await plugin(['who', '--context=branch-office', '-n', 'default'], env);
    ok(overridden);
    assert.match(overridden.stdout, /^desk-1 +main +occupied +101/m);

    const viaFlag = await plugin(['who', '--kubeconfig', cp.kubeconfigPath], { KUBECONFIG: join(scratch, 'does-not-exist') });
    ok(viaFlag);
    assert.match(viaFlag.stdout, /^desk-1 /m);
  });

  test('login --wait=0 creates an admin session for the user with that extension and returns', async () => {
    const r = await plugin(['login', 'desk-2', '102', '--wait=0']);
    ok(r);
    const created = /^hotdesksession\.hotdesk\.io\/(desk-2-\w+) created$/m.exec(r.stdout);
    assert.ok(created, r.stdout);
    const session = (await sessions()).find((s) => s.metadata.name === created[1]);
    assert.ok(session, `session ${created[1]} exists`);
    assert.deepEqual(session.spec, { device: 'desk-2', user: 'bob', origin: 'admin' });
  });

  test('login waits for the controller and reports Active, or the refusal with its reason', async () => {
    const known = new Set((await sessions()).map((s) => s.metadata.name));
    const next = () => until('the new session', async () => (await sessions()).find((s) => !known.has(s.metadata.name)));

    const loggingIn = plugin(['login', 'desk-2', '102', '--wait=60s']);
    const accepted = await next();
    known.add(accepted.metadata.name);
    await patchStatus(SESSION, accepted.metadata.name, { phase: 'Active', startedAt: new Date().toISOString() });
    const active = await loggingIn;
    ok(active);
    assert.equal(active.stdout, `extension 102 at desk-2: logged in (session ${accepted.metadata.name})\n`);

    const refusing = plugin(['login', 'desk-1', '102', '--wait=60s']);
    const refused = await next();
    known.add(refused.metadata.name);
    await patchStatus(SESSION, refused.metadata.name, { phase: 'Refused', endReason: 'refused', message: 'desk-1 is occupied by 101 and the pool refuses', endedAt: new Date().toISOString() });
    const outcome = await refusing;
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /^error: extension 102 at desk-1: login refused: refused: desk-1 is occupied by 101 and the pool refuses/m);
  });

  test('login times out with a clear message when no controller answers', async () => {
    const r = await plugin(['login', 'desk-2', '101', '--wait=1s']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: timed out after 1s waiting for extension 101 at desk-2: session desk-2-\w+ is still Pending \(is the controller running\?\)/);
  });

  test('login refuses unknown devices and extensions with the server\'s or its own message, no stack trace', async () => {
    const noDevice = await plugin(['login', 'desk-9', '101', '--wait=0']);
    assert.equal(noDevice.code, 1);
    assert.equal(noDevice.stderr, 'Error from server (NotFound): hotdeskdevices.hotdesk.io "desk-9" not found\n');
    const noUser = await plugin(['login', 'desk-1', '555', '--wait=0']);
    assert.equal(noUser.code, 1);
    assert.equal(noUser.stderr, 'error: no HotDeskUser with extension 555 in namespace default\n');
  });

  test('logout by extension, by MAC or by device name deletes the open sessions and says what ended', async () => {
    const byExtension = await plugin(['logout', '101']);
    ok(byExtension);
    const aliceSessions = (await sessions()).filter((s) => s.spec.user === 'alice');
    assert.ok(byExtension.stdout.includes('session desk-1-s1 ended: extension 101 (Alice Smith) at desk-1\n'), byExtension.stdout);
    assert.deepEqual(aliceSessions.map((s) => s.metadata.name), [], 'every open session of 101 is gone (no finalizer without a controller)');

    const before = (await sessions()).filter((s) => s.spec.device === 'desk-2' && s.status?.phase !== 'Refused');
    assert.ok(before.length >= 2, 'the logins at desk-2 above left open sessions');
    const byMac = await plugin(['logout', '00-15-65-AA-BB-02']);
    ok(byMac);
    for (const s of before) assert.ok(byMac.stdout.includes(`session ${s.metadata.name} ended: extension 102 (Bob Jones) at desk-2\n`), byMac.stdout);
    assert.deepEqual((await sessions()).filter((s) => s.spec.device === 'desk-2').map((s) => s.metadata.name), []);

    const byName = await plugin(['logout', 'lobby', '-n', 'branch']);
    ok(byName);
    assert.equal(byName.stdout, 'session lobby-s1 ended: extension 201 (Carol Diaz) at lobby\n');
    assert.deepEqual(await sessions('branch'), []);
  });

  test('logout says clearly when nothing matches or nobody is logged in', async () => {
    const unknown = await plugin(['logout', 'desk-42']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'error: "desk-42" is not a device name, a device MAC or a user\'s extension in namespace default\n');
    const idle = await plugin(['logout', 'desk-2']);
    assert.equal(idle.code, 1);
    assert.equal(idle.stderr, 'error: nobody is logged in: no active session for device desk-2\n');
  });

  test('usage errors exit 2 with usage; --help prints the command help', async () => {
    const unknown = await plugin(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command "frobnicate"\n/);
    assert.match(unknown.stderr, /Usage:\n  kubectl hotdesk <command> \[flags\]/);
    const badFlag = await plugin(['who', '--colour']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /See 'kubectl hotdesk who --help' for usage/);
    const help = await plugin(['logout', '--help']);
    ok(help);
    assert.match(help.stdout, /kubectl hotdesk logout DEVICE\|MAC\|EXTENSION/);
  });

  test('an unreachable API server is reported the way kubectl reports it', async () => {
    const port = await freePort();
    const config = readFileSync(cp.kubeconfigPath, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`);
    const dead = join(scratch, 'dead-kubeconfig');
    writeFileSync(dead, config);
    const r = await plugin(['who'], { KUBECONFIG: dead });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `The connection to the server 127.0.0.1:${port} was refused - did you specify the right host or port?\n`);
  });

  test('the real kubectl finds the plugin on PATH and runs it as "kubectl hotdesk"', async () => {
    const pluginDir = join(scratch, 'plugins');
    rmSync(pluginDir, { recursive: true, force: true });
    mkdirSync(pluginDir);
    symlinkSync(PLUGIN, join(pluginDir, 'kubectl-hotdesk'));
    const env = { ...process.env, PATH: [pluginDir, path].join(delimiter), KUBECONFIG: cp.kubeconfigPath };
    const kubectlBin = join(cp.binDir, 'kubectl');

    const listed = await runCommand(kubectlBin, ['plugin', 'list'], { env });
    assert.match(listed.stdout, new RegExp(`${join(pluginDir, 'kubectl-hotdesk').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

    const who = await runCommand(kubectlBin, ['hotdesk', 'who', '-A'], { env });
    ok(who);
    assert.match(who.stdout, /^NAMESPACE +DEVICE +POOL +STATE +EXTENSION +USER +SINCE$/m);
    assert.match(who.stdout, /^branch +lobby +main +occupied +201 +Carol Diaz/m, 'the device status written earlier still names Carol');
    assert.match(who.stdout, /^default +desk-2 +main +idle /m);
  });
});

// `npm run demo`: the first thing a new user runs. A local control plane, the controller, one
// edge and a scripted desk phone that logs in with a feature code and PIN, narrated on stdout.
// `npm start` runs the same and then keeps everything up for a real softphone (--serve).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.LOG_LEVEL ??= 'warn';

const { startControlPlane } = await import('../envtest/controlplane.ts');
const { runCommand } = await import('../envtest/command.ts');
const { createController } = await import('../controller/controller.ts');
const { startEdge } = await import('../edge/edge.ts');
const { ScriptedPhone } = await import('./scripted-phone.ts');
const { freeLoopbackPort } = await import('../envtest/ports.ts');
const { startStandInPbx } = await import('./standin-pbx.ts');

const REPO = new URL('../../', import.meta.url).pathname;
const POOL = 'london-office';
const DESK = 'desk-3f-14';
const IDLE_ACCOUNT = 'HD0002';
const USER = { name: 'bob', extension: '102', pin: '1357' };
const serve = process.argv.includes('--serve');

const say = (text: string) => process.stdout.write(`${text}\n`);
const step = (text: string) => say(`\n==> ${text}`);

// `kubectl get hotdesk` without the pools: a pool's READY column counts its edge pods, and here
// the edge is a local process, so a pool would look not ready while everything works.
const DESK_RESOURCES = 'hotdeskdevices,hotdeskusers,hotdesksessions';
const POOLS_NOTE = [
  '    (Pools are left out: their READY column counts edge pods, and in this demo the edge runs as',
  '    a local process, not in pods, so a pool would look not ready while its edge serves. On a',
  '    cluster (`npm run cluster`) the pool is Ready when its edge pods are.)',
].join('\n');

/**
 * Starts the edge with SIP over UDP and TCP on one port, the one phones are told: the kernel picks
 * a port free for both, and another process may take it before the edge binds, so a taken port
 * is tried again with another.
 */
async function startEdgeOnOnePort(attempts = 5): ReturnType<typeof startEdge> {
  for (let attempt = 1; ; attempt++) {
    const sipPort = await freeLoopbackPort();
    try {
      return await startEdge({ kubeConfig: cp.kubeConfig, namespace: 'default', pool: POOL, host: '127.0.0.1', sipPort, httpPort: 0, metricsPort: 0 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === attempts) throw err;
    }
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

step('Starting a local Kubernetes control plane (etcd + kube-apiserver on loopback)');
const cp = await startControlPlane();
say(`    API server at ${cp.server}; kubeconfig ${cp.kubeconfigPath}`);
const kubectl = async (...args: string[]) => {
  const r = await cp.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
};

const cleanups: Array<() => Promise<unknown>> = [() => cp.stop()];
const cleanup = async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  step('Starting the controller');
  const mgr = createController({ kubeConfig: cp.kubeConfig, leaderElection: false, server: { host: '127.0.0.1', port: 0 } });
  await mgr.start();
  cleanups.push(() => mgr.stop());
  say(`    metrics at http://127.0.0.1:${mgr.port}/metrics`);

  const pbx = await startStandInPbx();
  cleanups.push(() => pbx.stop());

  step('Applying the samples: kubectl apply -k config/samples');
  say((await kubectl('apply', '-k', join(REPO, 'config/samples'))).trimEnd().replace(/^/gm, '    '));
  // The samples point at a PBX on the internet; the demo's stand-in PBX listens on loopback.
  await kubectl('patch', 'hotdeskpool', POOL, '--type=merge', '-p', JSON.stringify({
    spec: { pbx: { host: '127.0.0.1', port: pbx.port, transport: 'udp' }, edge: { advertisedHost: '127.0.0.1' } },
  }));
  say(`    (pool ${POOL} patched to use a stand-in PBX on 127.0.0.1:${pbx.port})`);

  step(`Starting the edge for pool ${POOL}, as a local process (on a cluster it runs in the pool's edge pods)`);
  const edge = await startEdgeOnOnePort();
  cleanups.push(() => edge.stop());
  say(`    SIP udp and tcp 127.0.0.1:${edge.sipPort}, provisioning http://127.0.0.1:${edge.httpPort}/, metrics http://127.0.0.1:${edge.metricsPort}/metrics`);
  // Phones must be told the ports this edge really listens on: they go into every rendered file.
  await kubectl('patch', 'hotdeskpool', POOL, '--type=merge', '-p', JSON.stringify({ spec: { edge: { sipPort: edge.sipPort, httpPort: edge.httpPort, metricsPort: edge.metricsPort } } }));

  const idleConfig = await waitFor('the idle configuration', async () => {
    const data = JSON.parse(await kubectl('get', 'configmap', `${DESK}-provisioning`, '-o', 'json').catch(() => '{}')).data as Record<string, string> | undefined;
    return data && Object.values(data).some((c) => c.includes(IDLE_ACCOUNT) && c.includes(`127.0.0.1:${edge.sipPort}`)) ? data : undefined;
  });

  step(`kubectl get ${DESK_RESOURCES} (before)`);
  say((await kubectl('get', DESK_RESOURCES)).trimEnd());
  say(POOLS_NOTE);

  step(`A phone at ${DESK} registers as ${IDLE_ACCOUNT} through the edge`);
  const phone = await ScriptedPhone.start({ identity: IDLE_ACCOUNT, domain: 'example.3cx.eu', edge: { host: '127.0.0.1', port: edge.sipPort } });
  cleanups.push(() => phone.stop());
  const reg = await phone.register();
  say(`    REGISTER -> ${reg.status} ${reg.reason}`);

  step(`It dials *77*${USER.extension}* and keys the PIN ${USER.pin}# (RFC 4733 DTMF)`);
  const resync = phone.nextNotify(20_000);
  const call = await phone.dial(`*77*${USER.extension}*`, `${USER.pin}#`);
  say(`    INVITE -> ${call.status} ${call.reason}; heard ${call.promptPackets} RTP packets of voice prompts; edge hung up: ${call.hungUpByEdge ? 'yes' : 'no'}`);
  const notify = await resync;
  say(notify ? `    the phone got NOTIFY, Event: ${notify.headers.find((h) => h.name === 'event')?.value} (re-sync without a reboot)` : '    no NOTIFY arrived');

  const session = await waitFor('the session', async () => {
    const list = JSON.parse(await kubectl('get', 'hotdesksessions', '-o', 'json')).items as Array<{ metadata: { name: string }; spec: { user: string; origin: string }; status?: { phase?: string } }>;
    return list.find((s) => s.spec.user === USER.name && s.spec.origin === 'featureCode' && s.status?.phase === 'Active');
  });
  say(`    session ${session.metadata.name} is Active`);
  const occupiedConfig = await waitFor('the occupied configuration', async () => {
    const data = JSON.parse(await kubectl('get', 'configmap', `${DESK}-provisioning`, '-o', 'json')).data as Record<string, string>;
    return Object.values(data).some((c) => c.includes(`"${USER.extension}"`) || c.includes(`>${USER.extension}<`) || c.includes(`= ${USER.extension}`)) ? data : undefined;
  });

  step(`kubectl get ${DESK_RESOURCES} (after)`);
  say((await kubectl('get', DESK_RESOURCES)).trimEnd());

  step(`What changed in ${DESK}'s provisioning file (the password stays a placeholder; the edge fills it in when the phone fetches the file)`);
  const dir = mkdtempSync(join(tmpdir(), 'hotdesk-demo-'));
  for (const name of Object.keys(occupiedConfig)) {
    writeFileSync(join(dir, 'before'), idleConfig[name] ?? '');
    writeFileSync(join(dir, 'after'), occupiedConfig[name] ?? '');
    const diff = await runCommand('diff', ['-u', '--label', `${name} (idle)`, '--label', `${name} (${USER.name} logged in)`, join(dir, 'before'), join(dir, 'after')]);
    say(diff.stdout.trimEnd() || '    (no change)');
  }
  rmSync(dir, { recursive: true, force: true });

  if (serve) {
    step('Serving until Ctrl-C. Point a softphone at the edge:');
    say(`    outbound proxy  127.0.0.1:${edge.sipPort} (udp or tcp)   account HD0001 @ example.3cx.eu, password sample-only-change-me-hd0001`);
    say(`    dial *77*101* and PIN 2468# to log in as alice; *77*5* to log out; 911 is always allowed`);
    say(`    KUBECONFIG=${cp.kubeconfigPath} kubectl get hotdesk   (a pool's READY counts edge pods; the demo has none)`);
    await new Promise(() => undefined);
  }
  step('Done. Everything started here is stopped again.');
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
  // An edge start that lost its port to another process may have left watches open.
  process.exit();
}

/**
 * Kamailio as the tenant PBX in end-to-end tests: a small in-memory registrar that relays calls to
 * registered users, sends emergency numbers to a fixed "emergency desk" address, and answers
 * anything else it cannot route with 404 naming the user part, host and asserted identity it saw
 * (X-PBX-Saw, X-PBX-Saw-Host, X-PBX-Saw-Identity), so a test can tell exactly what reached the PBX.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, waitForListener } from '../support/ports.ts';

export interface KamailioOptions {
  /** Where INVITEs to the emergency numbers are relayed (the SIPp emergency UAS). */
  emergencyPort: number;
  emergencyNumbers?: readonly string[];
  /** Address to listen on (default 127.0.0.1), e.g. the PBX namespace's address. */
  host?: string;
  /** Port to listen on; default a free loopback port. */
  port?: number;
  /** Run inside this network namespace (a PBX beyond the edge, test/support/nat-topology.ts). */
  netns?: string;
  /**
   * The registrar keeps the Path of each registration (RFC 3327: registrar use_path, path module)
   * and lookup() routes requests for the binding along it, as a Path-aware PBX does.
   */
  usePath?: boolean;
  /**
   * Honour `alias` in a TCP request's Via (RFC 5923, tcp_accept_aliases): requests for that sender
   * then go back on the connection it opened rather than on a new one, and each request's
   * transport and source are logged ("PBX got <method> over <proto> from <address>:<port>").
   */
  tcpAcceptAliases?: boolean;
}

export interface Kamailio {
  port: number;
  /** Everything Kamailio printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const MODULES = ['tm', 'sl', 'rr', 'pv', 'maxfwd', 'usrloc', 'registrar', 'textops', 'siputils', 'xlog', 'kex', 'corex'];

export function kamailioConfig(port: number, opts: KamailioOptions): string {
  const emergency = (opts.emergencyNumbers ?? ['911', '112']).map((n) => `$rU == "${n}"`).join(' || ');
  const host = opts.host ?? '127.0.0.1';
  const modules = opts.usePath ? [...MODULES, 'path'] : MODULES;
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
listen=udp:${host}:${port}
listen=tcp:${host}:${port}
alias="${host}:${port}"
${opts.tcpAcceptAliases ? 'tcp_accept_aliases=yes\n' : ''}mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
${modules.map((m) => `loadmodule "${m}.so"`).join('\n')}
modparam("usrloc", "db_mode", 0)
modparam("rr", "append_fromtag", 0)
${opts.usePath ? 'modparam("registrar", "use_path", 1)\n' : ''}
request_route {
  xlog("L_INFO", "PBX got $rm $ru from $fu via $si:$sp\\n");
${opts.tcpAcceptAliases ? '  xlog("L_INFO", "PBX got $rm over $pr from $si:$sp\\n");\n' : ''}  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && !t_check_trans()) { t_relay(); exit; }
    t_relay();
    exit;
  }
  if (is_method("CANCEL")) {
    if (t_check_trans()) t_relay();
    exit;
  }
  if (is_method("REGISTER")) {
    if (!save("location")) sl_reply_error();
    exit;
  }
  if (is_method("INVITE")) record_route();
  if (${emergency}) {
    rewritehostport("${host}:${opts.emergencyPort}");
    t_relay();
    exit;
  }
  if (!lookup("location")) {
    append_to_reply("X-PBX-Saw: $rU\\r\\nX-PBX-Saw-Host: $rd\\r\\nX-PBX-Saw-Identity: $hdr(P-Asserted-Identity)\\r\\n");
    sl_send_reply("404", "Not Found");
    exit;
  }
  xlog("L_INFO", "PBX lookup found $ru dst $du\\n");
  t_relay();
}
`;
}

export async function startKamailio(opts: KamailioOptions): Promise<Kamailio> {
  const dir = await mkdtemp(join(tmpdir(), 'kamailio-'));
  const port = opts.port ?? (await freeLoopbackPort());
  const config = join(dir, 'kamailio.cfg');
  await writeFile(config, kamailioConfig(port, opts));
  // -DD: stays in the foreground as the parent of its workers; detached so its process group
  // (parent and workers) can be signalled as one at teardown. nsenter execs it: same process.
  const args = ['-DD', '-E', '-f', config, '-w', dir, '-Y', dir, '-m', '32', '-M', '4'];
  const [command, argv] = opts.netns ? ['nsenter', [`--net=/run/netns/${opts.netns}`, '/usr/sbin/kamailio', ...args]] : ['/usr/sbin/kamailio', args];
  const child: ChildProcess = spawn(command, argv, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      waitForListener(port, 'udp', 10_000, opts.netns),
      exited.then(() => {
        throw new Error(`kamailio exited at startup:\n${output}`);
      }),
    ]);
    await waitForListener(port, 'tcp', 10_000, opts.netns);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, log: () => output, stop };
}

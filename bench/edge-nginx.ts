import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';

export interface Nginx {
  port: number;
  /** The master process; its workers are its children. */
  pid: number;
  stop(): Promise<void>;
}

/** As long as the edge's nonces (a base-36 time, a dot, 16 base64url characters). */
const FIXED_NONCE = 'mhx3k2p0.benchfixednonce0';

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * nginx (Debian's nginx-light) serving `root` statically on loopback, in the foreground, as the
 * provisioning storm's baseline. It challenges like the edge: a request without an Authorization
 * header gets 401 with the same two Digest challenges (MD5, SHA-256), and one with any
 * Authorization header gets the file. nginx does not check the answer (it has no Digest module):
 * it does the exchange's HTTP work, not the edge's hashing.
 */
export async function startNginx(root: string, dir: string, workers: string): Promise<Nginx> {
  mkdirSync(dir, { recursive: true });
  const port = await freeTcpPort();
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  sendfile on;
  keepalive_timeout 5s;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      if ($http_authorization = "") {
        add_header WWW-Authenticate 'Digest realm="hotdesk", qop="auth", algorithm=MD5, nonce="${FIXED_NONCE}", opaque="0123456789abcdef"' always;
        add_header WWW-Authenticate 'Digest realm="hotdesk", qop="auth", algorithm=SHA-256, nonce="${FIXED_NONCE}", opaque="0123456789abcdef"' always;
        return 401;
      }
      add_header Cache-Control no-store;
    }
  }
}
`);
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`).then(() => true, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx not answering: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

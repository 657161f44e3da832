// A TCP relay that can be partitioned: while cut, it neither reads nor writes on any connection
// (old or new), as a network that silently drops packets would, so clients meet their own timeouts
// rather than a quick "connection refused". Run as a process it relays until killed:
//   node test/support/tcp-relay.ts <listen-host> <listen-port> <target-host> <target-port>
import net from 'node:net';

export interface TcpRelay {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<TcpRelay> {
  let cut = false;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket | undefined; connect(): void }>();
  const server = net.createServer((client) => {
    const pair = {
      client,
      upstream: undefined as net.Socket | undefined,
      connect() {
        const upstream = net.connect(target.port, target.host);
        pair.upstream = upstream;
        client.pipe(upstream);
        upstream.pipe(client);
        upstream.on('error', () => client.destroy());
        upstream.on('close', () => client.destroy());
      },
    };
    pairs.add(pair);
    client.on('error', () => pair.upstream?.destroy());
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (cut) client.pause();
    else pair.connect();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cut = true;
      // Unpiped as well as paused: a pipe resumes its source whenever the destination drains.
      for (const p of pairs) {
        if (p.upstream) {
          p.client.unpipe(p.upstream);
          p.upstream.unpipe(p.client);
          p.upstream.pause();
        }
        p.client.pause();
      }
    },
    restore() {
      cut = false;
      for (const p of pairs) {
        if (!p.upstream) {
          p.connect();
          continue;
        }
        p.client.pipe(p.upstream);
        p.upstream.pipe(p.client);
      }
    },
    close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [listenHost, listenPort, targetHost, targetPort] = process.argv.slice(2);
  if (!listenHost || !listenPort || !targetHost || !targetPort) {
    process.stderr.write('usage: tcp-relay.ts <listen-host> <listen-port> <target-host> <target-port>\n');
    process.exit(2);
  }
  const relay = await startTcpRelay({ host: listenHost, port: Number(listenPort) }, { host: targetHost, port: Number(targetPort) });
  process.stdout.write(`${JSON.stringify({ listening: relay.port })}\n`);
}

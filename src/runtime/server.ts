import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  registry: Registry;
  /** Ready when this says so (informers synced). */
  ready: () => boolean;
  host?: string;
  /** 0 picks a free port; see port after listen(). */
  port?: number;
}

/** /metrics, /healthz (the process answers) and /readyz (caches synced; standbys are ready too). */
export class ProbeServer {
  private readonly opts: ProbeServerOptions;
  private readonly server: http.Server;
  private boundPort = 0;

  constructor(opts: ProbeServerOptions) {
    this.opts = opts;
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 8080, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    return this.boundPort;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/metrics') {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType });
        res.end(body);
      } else if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
      } else if (path === '/readyz') {
        const ready = this.opts.ready();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ready ? 'ok\n' : 'caches not synced\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${String(err)}\n`);
    }
  }
}

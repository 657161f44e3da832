/**
 * A standalone proxy that forwards every new request to one fixed upstream, for comparing CPU
 * per call against Kamailio. No per-message logging; the rate limit is off.
 *
 *   node src/sip/forwarding-proxy-main.ts --listen 127.0.0.1:5060 --upstream 127.0.0.1:5080 [--transport udp|tcp]
 *   (or env SIP_LISTEN, SIP_UPSTREAM, SIP_UPSTREAM_TRANSPORT)
 *
 * Prints one JSON line with the bound addresses on stdout once listening; stops on SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../log.ts';
import { SipProxy } from './proxy.ts';
import { protocolFromToken } from './transport.ts';

function hostPort(text: string, what: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what} must be host:port, got ${text}`);
  return { host: text.slice(0, colon), port };
}

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: process.env.SIP_LISTEN ?? '127.0.0.1:5060' },
    upstream: { type: 'string', default: process.env.SIP_UPSTREAM },
    transport: { type: 'string', default: process.env.SIP_UPSTREAM_TRANSPORT ?? 'udp' },
    't1-ms': { type: 'string', default: process.env.SIP_T1_MS },
  },
});

const log = createLogger('forwarding-proxy');
if (values.upstream === undefined) {
  log.error('missing --upstream host:port (or SIP_UPSTREAM)');
  process.exit(2);
}
const listen = hostPort(values.listen, '--listen');
const upstream = hostPort(values.upstream, '--upstream');
const transport = protocolFromToken(values.transport);
if (transport === undefined) {
  log.error({ transport: values.transport }, 'unknown transport');
  process.exit(2);
}

const proxy = new SipProxy({
  host: listen.host,
  udpPort: listen.port,
  tcpPort: listen.port,
  limits: { rateLimit: false },
  timers: values['t1-ms'] ? { t1: Number(values['t1-ms']) } : {},
  logger: log,
});
const destination = { host: upstream.host, port: upstream.port, transport };
proxy.on('request', (req) => {
  void req.proxy({ destination });
});
const bound = await proxy.listen();
process.stdout.write(`${JSON.stringify({ listening: bound })}\n`);
log.info({ listening: bound, upstream: destination }, 'forwarding proxy ready');

const stop = (): void => {
  void proxy.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

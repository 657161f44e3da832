import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { createSocket } from 'node:dgram';
import { SipProxy } from '../../src/sip/proxy.ts';

const OPTIONS = (port: number, transport: string) => [
  `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
  `Via: SIP/2.0/${transport} 127.0.0.1:9;rport;branch=z9hG4bK-one-port-${transport}`,
  'Max-Forwards: 70',
  'From: <sip:probe@127.0.0.1>;tag=1',
  `To: <sip:127.0.0.1:${port}>`,
  `Call-ID: one-port-${transport}@127.0.0.1`,
  'CSeq: 1 OPTIONS',
  'Content-Length: 0',
  '', '',
].join('\r\n');

test('with "any free port" for both, UDP and TCP listen on one port, and each answers there', async () => {
  const proxies = await Promise.all(Array.from({ length: 5 }, async () => {
    const proxy = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: 0 });
    proxy.on('request', (_req, res) => { res.send(200); });
    await proxy.listen();
    return proxy;
  }));
  try {
    for (const proxy of proxies) assert.equal(proxy.address('tcp').port, proxy.address('udp').port);
    const port = proxies[0]!.address('udp').port;
    const tcpAnswer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(OPTIONS(port, 'TCP')));
      socket.once('data', (d) => { resolve(d.toString()); socket.destroy(); });
      socket.once('error', reject);
    });
    assert.match(tcpAnswer, /^SIP\/2\.0 200/);
    const udpAnswer = await new Promise<string>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('message', (d) => { resolve(d.toString()); socket.close(); });
      socket.send(OPTIONS(port, 'UDP'), port, '127.0.0.1');
    });
    assert.match(udpAnswer, /^SIP\/2\.0 200/);
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
});

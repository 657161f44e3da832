/**
 * The stream transport's connection identity: every TCP connection has its own number, on the
 * source of each message it carries, and the side that opened it knows to whom; a message sent
 * on a connection that has closed fails rather than opening a new one. Over TLS, a client whose
 * certificate verifies is known by the names in it. A connection opened to an upstream that is
 * kept alive is pinged (RFC 5626 CRLF keep-alive) instead of closed when idle.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { StreamTransport } from '../../src/sip/transport-tcp.ts';
import type { SipAddress } from '../../src/sip/transport.ts';
import { eventually } from '../support/eventually.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function endpoint() {
  const received: Array<{ text: string; source: SipAddress }> = [];
  const transport = new StreamTransport({ host: '127.0.0.1', port: 0, maxMessageBytes: 65_535, onMessage: (data, source) => received.push({ text: data.toString(), source }) });
  cleanups.push(() => transport.close());
  const address = await transport.listen();
  return { transport, address, received };
}

const message = (n: number) => Buffer.from(`OPTIONS sip:x@y SIP/2.0\r\nCall-ID: m${n}\r\nContent-Length: 0\r\n\r\n`);

test('each connection has its own number, and the side that opened it knows to whom', async () => {
  const server = await endpoint();
  const client = await endpoint();
  const other = await endpoint();
  await client.transport.send(server.address, message(1));
  await other.transport.send(server.address, message(2));
  await eventually('both messages at the server', () => server.received.length === 2);
  const [fromClient, fromOther] = server.received.map((r) => r.source);
  assert.ok(fromClient!.connection && fromOther!.connection);
  assert.notEqual(fromClient!.connection.id, fromOther!.connection.id, 'two connections, two numbers');
  assert.equal(fromClient!.connection.openedTo, undefined, 'accepted: the server did not open it');

  // The server answers on the very connection; the client sees it came on the one it opened.
  await server.transport.sendOnConnection(fromClient!.connection.id, message(3));
  await eventually('the answer at the client', () => client.received.length === 1);
  const atClient = client.received[0]!.source;
  assert.deepEqual(atClient.connection?.openedTo, { address: '127.0.0.1', port: server.address.port });
  assert.equal(client.transport.openConnection(server.address)?.id, atClient.connection?.id, 'the open connection to the server is that one');
  assert.equal(server.transport.openConnection(fromClient!)?.id, fromClient!.connection.id);

  // Closed: sending on it fails, and no new connection is opened for it.
  await client.transport.close();
  await eventually('the server saw the close', () => server.transport.openConnection(fromClient!) === undefined);
  await assert.rejects(server.transport.sendOnConnection(fromClient!.connection.id, message(4)), /has closed/);
  assert.equal(server.transport.openConnections, 1, 'only the other client\'s connection is open');
});

/** A CA, and client certificates for pbx.test: one the CA issued for client use, one self-made. */
async function certificates(dir: string) {
  const run = (args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'server.key', '-out', 'server.pem']);
  await run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=pbx.test', '-keyout', 'pbx.key', '-out', 'pbx.csr']);
  await writeFile(join(dir, 'client.ext'), 'subjectAltName=DNS:pbx.test\nextendedKeyUsage=clientAuth\n');
  await run(['x509', '-req', '-in', 'pbx.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'client.ext', '-out', 'pbx.pem']);
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=pbx.test', '-addext', 'subjectAltName=DNS:pbx.test', '-keyout', 'forged.key', '-out', 'forged.pem']);
  const read = (name: string) => readFile(join(dir, name));
  return { ca: await read('ca.pem'), server: { cert: await read('server.pem'), key: await read('server.key') }, pbx: { cert: await read('pbx.pem'), key: await read('pbx.key') }, forged: { cert: await read('forged.pem'), key: await read('forged.key') } };
}

test('TLS: a client whose certificate verifies is certified for the names in it; a self-made one, or none, for nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sip-client-cert-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const certs = await certificates(dir);
  const received: SipAddress[] = [];
  const server = new StreamTransport({ host: '127.0.0.1', port: 0, maxMessageBytes: 65_535, tls: { ...certs.server, ca: certs.ca }, onMessage: (_data, source) => received.push(source) });
  cleanups.push(() => server.close());
  const { port } = await server.listen();
  const clients: Array<{ cert?: Buffer; key?: Buffer }> = [certs.pbx, certs.forged, {}];
  for (const [n, credentials] of clients.entries()) {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...credentials });
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    socket.write(message(10 + n));
    await eventually(`message ${n} at the server`, () => received.length === n + 1);
  }
  const [pbx, forged, anonymous] = received;
  assert.equal(pbx!.connection?.certifiedFor?.('pbx.test'), true, 'the CA-issued certificate names pbx.test');
  assert.equal(pbx!.connection?.certifiedFor?.('other.test'), false);
  assert.equal(forged!.connection?.certifiedFor, undefined, 'a self-made certificate proves nothing');
  assert.equal(anonymous!.connection?.certifiedFor, undefined, 'no certificate: served, but certified for nothing');
});

test('a connection opened to an upstream that is kept alive is pinged, not closed for idleness; other connections are, and so is that one once no longer wanted', async () => {
  // A raw upstream: collects what arrives after the first message and pongs each double-CRLF ping.
  const seen = new Map<number, { after: string; closed: boolean }>();
  const upstream = createServer((socket) => {
    const state = { after: '', closed: false };
    seen.set(socket.remotePort ?? 0, state);
    let all = '';
    socket.on('data', (chunk) => {
      all += chunk.toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      state.after = end < 0 ? '' : all.slice(end + 4);
      if (chunk.toString('latin1') === '\r\n\r\n') socket.write('\r\n');
    });
    socket.on('close', () => (state.closed = true));
    socket.on('error', () => {});
  });
  cleanups.push(() => new Promise<void>((resolve) => upstream.close(() => resolve())));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  let upstreamWanted = true;
  const client = (keepAlive: () => boolean) => {
    const transport = new StreamTransport({ host: '127.0.0.1', port: 0, maxMessageBytes: 65_535, idleTimeoutMs: 300, keepaliveIntervalMs: 100, keepAlive, onMessage: () => {} });
    cleanups.push(() => transport.close());
    return transport;
  };
  const kept = client(() => upstreamWanted);
  const idle = client(() => false);
  await kept.listen();
  await idle.listen();
  await kept.send({ address: '127.0.0.1', port }, message(20));
  const keptPort = [...seen.keys()].at(-1)!;
  await idle.send({ address: '127.0.0.1', port }, message(21));
  const idlePort = [...seen.keys()].at(-1)!;
  await eventually('the idle connection closed', () => seen.get(idlePort)!.closed, 5_000, 20);
  await new Promise((r) => setTimeout(r, 600));
  const pinged = seen.get(keptPort)!;
  assert.equal(pinged.closed, false, 'the kept-alive connection is still open, twice its idle timeout later');
  assert.ok(kept.openConnection({ address: '127.0.0.1', port }), 'and the transport still has it');
  assert.match(pinged.after, /^(\r\n\r\n){4,}$/, 'double-CRLF pings and nothing else: the pongs went unanswered');
  // No longer the upstream (the pool names another PBX): pings stop, and idleness closes it.
  upstreamWanted = false;
  await eventually('the connection closed once no longer kept alive', () => pinged.closed, 5_000, 20);
});

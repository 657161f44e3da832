/**
 * The stream transport's connection identity: every TCP connection has its own number, on the
 * source of each message it carries, and the side that opened it knows to whom; a message sent
 * on a connection that has closed fails rather than opening a new one.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
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

/**
 * A tiny authoritative DNS server over UDP for tests (RFC 1035 wire format): answers SRV, A and
 * AAAA questions from a fixed zone, NXDOMAIN for names it does not know, and counts the questions.
 * Only for tests that point a node:dns Resolver at it; the product uses the system's resolver.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface Zone {
  [name: string]: {
    srv?: Array<{ priority: number; weight: number; port: number; target: string }>;
    a?: string[];
    aaaa?: string[];
    ttl?: number;
  };
}

const TYPE = { A: 1, AAAA: 28, SRV: 33 } as const;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  while (message[at]! !== 0) {
    const length = message[at]!;
    labels.push(message.toString('ascii', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

function record(name: string, type: number, ttl: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), fixed, data]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::');
  const part = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const words = [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

export interface TinyDns {
  server: string;
  /** Questions asked, as `TYPE name`. */
  questions: string[];
  close(): Promise<void>;
}

export async function startTinyDns(zone: Zone): Promise<TinyDns> {
  const socket: Socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (query, from) => {
    if (query.length < 12) return;
    const { name, end } = readName(query, 12);
    const type = query.readUInt16BE(end);
    const question = query.subarray(12, end + 4);
    const typeName = Object.entries(TYPE).find(([, v]) => v === type)?.[0] ?? String(type);
    questions.push(`${typeName} ${name}`);
    const entry = zone[name];
    const ttl = entry?.ttl ?? 60;
    const answers: Buffer[] = [];
    if (entry && type === TYPE.SRV) {
      for (const srv of entry.srv ?? []) {
        const fixed = Buffer.alloc(6);
        fixed.writeUInt16BE(srv.priority, 0);
        fixed.writeUInt16BE(srv.weight, 2);
        fixed.writeUInt16BE(srv.port, 4);
        answers.push(record(name, TYPE.SRV, ttl, Buffer.concat([fixed, encodeName(srv.target)])));
      }
    }
    if (entry && type === TYPE.A) for (const a of entry.a ?? []) answers.push(record(name, TYPE.A, ttl, Buffer.from(a.split('.').map(Number))));
    if (entry && type === TYPE.AAAA) for (const a of entry.aaaa ?? []) answers.push(record(name, TYPE.AAAA, ttl, ipv6Bytes(a)));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, AA, RD copied; RA; RCODE 3 (NXDOMAIN) for an unknown name.
    header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (entry ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, question, ...answers]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

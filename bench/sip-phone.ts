import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encodeTelephoneEvent, type DtmfKey } from '../src/media/dtmf.ts';
import { encodeRtpPacket } from '../src/media/rtp-packet.ts';

/**
 * A desk phone reduced to what the login benchmark needs, over UDP: REGISTER, dial a feature code
 * with an SDP offer (PCMU + telephone-event), press keys as RFC 4733 events, answer NOTIFY
 * check-sync (noting when it arrived) and BYE, hang up.
 */
const TE_PT = 101;
const DTMF_EVENTS: Record<string, number> = { '0': 0, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7, '8': 8, '9': 9, '*': 10, '#': 11 };

interface Parsed {
  firstLine: string;
  headers: Map<string, string[]>;
  body: string;
  raw: string;
}

function parse(text: string): Parsed {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [firstLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  const compact: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    let name = line.slice(0, colon).trim().toLowerCase();
    name = compact[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return { firstLine, headers, body: split < 0 ? '' : text.slice(split + 4), raw: text };
}

const h = (m: Parsed, name: string) => m.headers.get(name)?.[0] ?? '';
const token = () => randomBytes(6).toString('hex');

/** A response to `req` echoing the headers RFC 3261 says a response copies. */
function responseTo(req: Parsed, status: string, extra: string[] = [], toTag?: string): string {
  const to = h(req, 'to');
  return [
    `SIP/2.0 ${status}`,
    ...(req.headers.get('via') ?? []).map((v) => `Via: ${v}`),
    `From: ${h(req, 'from')}`,
    `To: ${toTag && !/;tag=/.test(to) ? `${to};tag=${toTag}` : to}`,
    `Call-ID: ${h(req, 'call-id')}`,
    `CSeq: ${h(req, 'cseq')}`,
    ...extra,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

/** The PBX behind the edge, as far as the benchmark needs it: every REGISTER gets 200 with its binding. */
export class FakePbx {
  readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => {
      const msg = parse(data.toString('utf8'));
      if (msg.firstLine.startsWith('SIP/2.0')) return;
      const method = msg.firstLine.split(' ')[0];
      if (method === 'ACK') return;
      const extra = method === 'REGISTER' ? [`Contact: ${h(msg, 'contact').replace(/;expires=\d+/, '')};expires=3600`] : [];
      socket.send(responseTo(msg, method === 'REGISTER' ? '200 OK' : '200 OK', extra, token()), rinfo.port, rinfo.address);
    });
  }

  static async start(host: string): Promise<FakePbx> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, host, () => r()));
    return new FakePbx(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }
}

export interface PhoneOptions {
  host: string;
  edge: { host: string; port: number };
  domain: string;
}

export class Phone {
  readonly #sip: Socket;
  readonly #rtp: Socket;
  readonly #opts: PhoneOptions;
  #waiters: Array<{ match: (m: Parsed) => boolean; resolve: (m: Parsed) => void }> = [];
  #notifyWaiter: ((at: number) => void) | undefined;
  #cseq = 1;
  #ssrc = randomBytes(4).readUInt32BE(0);
  #seq = 0;
  #timestamp = 0;
  notifies = 0;

  private constructor(sip: Socket, rtp: Socket, opts: PhoneOptions) {
    this.#sip = sip;
    this.#rtp = rtp;
    this.#opts = opts;
    sip.on('message', (data, rinfo) => this.#onMessage(parse(data.toString('utf8')), rinfo));
    rtp.on('message', () => undefined);
  }

  static async start(opts: PhoneOptions): Promise<Phone> {
    const bind = async () => {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, opts.host, () => r()));
      return s;
    };
    return new Phone(await bind(), await bind(), opts);
  }

  get #contact(): string {
    return `sip:phone@${this.#opts.host}:${this.#sip.address().port}`;
  }

  #onMessage(msg: Parsed, rinfo: RemoteInfo): void {
    if (!msg.firstLine.startsWith('SIP/2.0')) {
      const method = msg.firstLine.split(' ')[0];
      if (method === 'NOTIFY') {
        const at = performance.now();
        this.notifies++;
        this.#notifyWaiter?.(at);
        this.#notifyWaiter = undefined;
      }
      if (method !== 'ACK') this.#sip.send(responseTo(msg, '200 OK'), rinfo.port, rinfo.address);
      if (method === 'BYE') this.#deliver(msg);
      return;
    }
    this.#deliver(msg);
  }

  #deliver(msg: Parsed): void {
    const i = this.#waiters.findIndex((w) => w.match(msg));
    if (i < 0) return;
    const [w] = this.#waiters.splice(i, 1);
    w!.resolve(msg);
  }

  #wait(match: (m: Parsed) => boolean, timeoutMs: number, what: string): Promise<Parsed> {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: Parsed) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`phone: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Resolves with performance.now() when the next NOTIFY arrives. */
  nextNotify(timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`phone: no NOTIFY within ${timeoutMs} ms`)), timeoutMs);
      this.#notifyWaiter = (at) => {
        clearTimeout(timer);
        resolve(at);
      };
    });
  }

  #send(text: string): void {
    this.#sip.send(text, this.#opts.edge.port, this.#opts.edge.host);
  }

  #via(branch: string): string {
    return `Via: SIP/2.0/UDP ${this.#opts.host}:${this.#sip.address().port};branch=z9hG4bK${branch};rport`;
  }

  /** REGISTER as `user` through the edge; resolves on the final response's status. */
  async register(user: string): Promise<number> {
    const callId = `${token()}@bench`;
    const branch = token();
    const aor = `sip:${user}@${this.#opts.domain}`;
    const answered = this.#wait((m) => h(m, 'call-id') === callId && !m.firstLine.startsWith('SIP/2.0 1'), 10_000, `answer to REGISTER ${user}`);
    this.#send([
      `REGISTER sip:${this.#opts.domain} SIP/2.0`,
      this.#via(branch),
      'Max-Forwards: 70',
      `From: <${aor}>;tag=${token()}`,
      `To: <${aor}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${this.#cseq++} REGISTER`,
      `Contact: <${this.#contact}>;expires=3600`,
      'Content-Length: 0',
      '', '',
    ].join('\r\n'));
    return Number((await answered).firstLine.split(' ')[1]);
  }

  /**
   * Calls `dialled` as `user`, presses `keys` once the call is answered and returns when the last
   * key's first packet went out. `hangUp()` ends the call.
   */
  async dialAndPress(user: string, dialled: string, keys: string): Promise<{ lastKeyAt: number; hangUp: () => Promise<void> }> {
    const callId = `${token()}@bench`;
    const fromTag = token();
    const from = `<sip:${user}@${this.#opts.domain}>;tag=${fromTag}`;
    const target = `sip:${dialled}@${this.#opts.domain}`;
    const rtpPort = this.#rtp.address().port;
    const sdp = [
      'v=0', `o=phone 1 1 IN IP4 ${this.#opts.host}`, 's=-', `c=IN IP4 ${this.#opts.host}`, 't=0 0',
      `m=audio ${rtpPort} RTP/AVP 0 ${TE_PT}`, 'a=rtpmap:0 PCMU/8000', `a=rtpmap:${TE_PT} telephone-event/8000`, `a=fmtp:${TE_PT} 0-15`, 'a=sendrecv', '',
    ].join('\r\n');
    const inviteCseq = this.#cseq++;
    const answered = this.#wait((m) => h(m, 'call-id') === callId && /^SIP\/2\.0 [2-6]/.test(m.firstLine) && h(m, 'cseq').endsWith('INVITE'), 10_000, `answer to INVITE ${dialled}`);
    this.#send([
      `INVITE ${target} SIP/2.0`, this.#via(token()), 'Max-Forwards: 70', `From: ${from}`, `To: <${target}>`, `Call-ID: ${callId}`,
      `CSeq: ${inviteCseq} INVITE`, `Contact: <${this.#contact}>`, 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(sdp)}`, '', sdp,
    ].join('\r\n'));
    const ok = await answered;
    if (!ok.firstLine.startsWith('SIP/2.0 200')) throw new Error(`feature code ${dialled} answered ${ok.firstLine}`);
    const to = h(ok, 'to');
    const remoteTarget = /<([^>]+)>/.exec(h(ok, 'contact'))?.[1] ?? target;
    const media = { host: /c=IN IP4 (\S+)/.exec(ok.body)?.[1] ?? this.#opts.edge.host, port: Number(/m=audio (\d+)/.exec(ok.body)?.[1]) };
    const inDialog = (method: string, cseq: number) => [
      `${method} ${remoteTarget} SIP/2.0`, this.#via(token()), 'Max-Forwards: 70', `From: ${from}`, `To: ${to}`, `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, 'Content-Length: 0', '', '',
    ].join('\r\n');
    this.#send(inDialog('ACK', inviteCseq));
    const byeFromEdge = this.#wait((m) => h(m, 'call-id') === callId && m.firstLine.startsWith('BYE'), 120_000, 'BYE');
    byeFromEdge.catch(() => undefined);
    let lastKeyAt = 0;
    for (const key of keys) {
      lastKeyAt = await this.#pressKey(key as DtmfKey, media);
      await new Promise((r) => setTimeout(r, 40));
    }
    let ended = false;
    void byeFromEdge.then(() => (ended = true), () => undefined);
    const hangUp = async () => {
      if (ended) return;
      const cseq = this.#cseq++;
      const done = this.#wait((m) => h(m, 'call-id') === callId && h(m, 'cseq') === `${cseq} BYE` && !m.firstLine.startsWith('SIP/2.0 1'), 5_000, 'answer to BYE');
      this.#send(inDialog('BYE', cseq));
      await done.catch(() => undefined);
    };
    return { lastKeyAt, hangUp };
  }

  /** One key press (start, update, three end packets); returns when its first packet was sent. */
  async #pressKey(key: DtmfKey, media: { host: string; port: number }): Promise<number> {
    this.#timestamp += 8000;
    const event = DTMF_EVENTS[key] ?? 0;
    const packet = (duration: number, end: boolean, marker: boolean) => encodeRtpPacket({
      marker, payloadType: TE_PT, sequenceNumber: this.#seq++, timestamp: this.#timestamp, ssrc: this.#ssrc,
      payload: encodeTelephoneEvent({ event, end, volume: 10, duration }),
    });
    const send = (b: Buffer) => new Promise<void>((r) => this.#rtp.send(b, media.port, media.host, () => r()));
    const firstAt = performance.now();
    await send(packet(160, false, true));
    await send(packet(480, false, false));
    for (let i = 0; i < 3; i++) await send(packet(800, true, false));
    return firstAt;
  }

  close(): void {
    this.#sip.close();
    this.#rtp.close();
  }
}

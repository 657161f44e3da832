import { hash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/**
 * One desk phone fetching its provisioning file as phones do: open a connection, GET without
 * credentials, get 401 with a Digest challenge, GET again on the same keep-alive connection with
 * the answer to that challenge, get 200 and the file, close. Raw HTTP/1.1 on `node:net`, so the
 * load generator stays light next to the servers it measures on the same cores.
 */

export interface PhoneAccount {
  /** Request path, `/<mac>.cfg`. */
  path: string;
  /** Digest username (the MAC). */
  username: string;
  password: string;
}

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
}

export type FetchOutcome = { ok: true; body: Buffer } | { ok: false; reason: string };

export interface ResponseHead {
  status: number;
  contentLength: number | undefined;
  /** Every WWW-Authenticate value, in order. */
  challenges: string[];
}

/** The status line and the fields a phone needs; undefined when it is not an HTTP/1.x response head. */
export function parseResponseHead(head: string): ResponseHead | undefined {
  const lines = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!status) return undefined;
  let contentLength: number | undefined;
  const challenges: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') contentLength = Number(value);
    else if (name === 'www-authenticate') challenges.push(value);
  }
  return { status: Number(status[1]), contentLength, challenges };
}

const param = (challenge: string, name: string): string | undefined =>
  new RegExp(`(?:^|[\\s,])${name}=(?:"([^"]*)"|([^\\s,]+))`, 'i').exec(challenge)?.slice(1).find((v) => v !== undefined);

/** The first Digest challenge a phone can answer: MD5 (or no algorithm named), qop auth. */
export function pickChallenge(values: readonly string[]): DigestChallenge | undefined {
  for (const value of values) {
    if (!/^digest\s/i.test(value)) continue;
    const algorithm = param(value, 'algorithm');
    const qop = param(value, 'qop');
    const realm = param(value, 'realm');
    const nonce = param(value, 'nonce');
    if ((algorithm !== undefined && algorithm.toUpperCase() !== 'MD5') || !qop?.split(',').map((q) => q.trim()).includes('auth')) continue;
    if (realm === undefined || nonce === undefined) continue;
    return { realm, nonce, opaque: param(value, 'opaque') };
  }
  return undefined;
}

/** The Authorization value answering `challenge` for a GET of the account's path (RFC 7616, MD5, qop=auth). */
export function digestAuthorization(account: PhoneAccount, challenge: DigestChallenge, cnonce: string, nc = '00000001'): string {
  const md5 = (s: string) => hash('md5', s, 'hex');
  const ha1 = md5(`${account.username}:${challenge.realm}:${account.password}`);
  const ha2 = md5(`GET:${account.path}`);
  const response = md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  const opaque = challenge.opaque === undefined ? '' : `, opaque="${challenge.opaque}"`;
  return `Digest username="${account.username}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${account.path}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"${opaque}`;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One fetch on a connection of its own. Resolves (never rejects) with the file, or with why the
 * fetch failed: a first answer that is not a usable challenge, a second that is not 200, a
 * connection error, or no answer within `timeoutMs`.
 */
export function fetchAsPhone(server: { host: string; port: number }, account: PhoneAccount, timeoutMs: number): Promise<FetchOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port, noDelay: true });
    const hostHeader = `Host: ${server.host}:${server.port}\r\nUser-Agent: hotdesk-bench-phone\r\n`;
    let pending: Buffer = Buffer.alloc(0);
    let step: 'challenge' | 'answer' = 'challenge';
    let settled = false;
    const done = (outcome: FetchOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `timeout (${step})` }), timeoutMs);

    socket.on('connect', () => socket.write(`GET ${account.path} HTTP/1.1\r\n${hostHeader}\r\n`, 'latin1'));
    socket.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, reason: `socket ${err.code ?? err.message} (${step})` }));
    socket.on('close', () => done({ ok: false, reason: `closed by the server (${step})` }));
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const headEnd = pending.indexOf(HEAD_END);
      if (headEnd < 0) return;
      const head = parseResponseHead(pending.toString('latin1', 0, headEnd));
      if (head === undefined) return done({ ok: false, reason: `not an HTTP response (${step})` });
      if (head.contentLength === undefined) return done({ ok: false, reason: `no Content-Length (${step}, status ${head.status})` });
      const bodyStart = headEnd + HEAD_END.length;
      if (pending.length < bodyStart + head.contentLength) return;
      const body = pending.subarray(bodyStart, bodyStart + head.contentLength);
      pending = pending.subarray(bodyStart + head.contentLength);
      if (step === 'answer') return done(head.status === 200 ? { ok: true, body } : { ok: false, reason: `answer got ${head.status}` });
      const challenge = head.status === 401 ? pickChallenge(head.challenges) : undefined;
      if (challenge === undefined) return done({ ok: false, reason: head.status === 401 ? 'challenge: 401 without a usable Digest challenge' : `challenge: got ${head.status}` });
      step = 'answer';
      const authorization = digestAuthorization(account, challenge, randomBytes(8).toString('hex'));
      // The phone is done after this file: it says so, and the server closes once it has answered.
      socket.write(`GET ${account.path} HTTP/1.1\r\n${hostHeader}Authorization: ${authorization}\r\nConnection: close\r\n\r\n`, 'latin1');
    });
  });
}

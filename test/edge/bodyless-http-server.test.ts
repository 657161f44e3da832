import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startBodylessHttpServer,
  serializeAnswer,
  type BodylessHttpServer,
  type BodylessHttpServerOptions,
  type BodylessRequest,
  type HttpAnswer,
} from '../../src/edge/bodyless-http-server.ts';

const run = promisify(execFile);

// ---- helpers -------------------------------------------------------------------------------

/** Starts a server on loopback, runs `body` against it and always closes it. */
async function withServer(opts: Partial<BodylessHttpServerOptions>, body: (server: BodylessHttpServer, base: string) => Promise<void>): Promise<void> {
  const server = await startBodylessHttpServer({ host: '127.0.0.1', handler: echo, ...opts });
  try {
    await body(server, `http://127.0.0.1:${server.port}`);
  } finally {
    await server.close();
  }
}

/** Answers with the method and target it was asked for. */
const echo = (r: BodylessRequest): HttpAnswer => ({ status: 200, headers: [['Content-Type', 'text/plain']], body: `${r.method} ${r.target}` });

/** A raw client socket that records every byte the server writes and whether it closed. */
function openRaw(port: number, opts: { allowHalfOpen?: boolean } = {}) {
  const socket: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: opts.allowHalfOpen ?? false });
  let text = '';
  let ended = false;
  let closed = false;
  const waiters = new Set<() => void>();
  const poke = () => { for (const w of [...waiters]) w(); };
  socket.on('connect', poke);
  socket.on('data', (d: Buffer) => { text += d.toString('latin1'); poke(); });
  socket.on('end', () => { ended = true; poke(); });
  socket.on('close', () => { closed = true; poke(); });
  socket.on('error', () => {});
  const waitUntil = (pred: () => boolean, timeoutMs: number) => new Promise<boolean>((resolve) => {
    if (pred()) return resolve(true);
    const done = (v: boolean) => { clearTimeout(timer); waiters.delete(check); resolve(v); };
    const check = () => { if (pred()) done(true); };
    const timer = setTimeout(() => done(false), timeoutMs);
    waiters.add(check);
  });
  return {
    socket,
    /** Everything received so far, one character per byte. */
    get text() { return text; },
    /** The server sent its FIN. */
    get ended() { return ended; },
    get closed() { return closed; },
    write: (bytes: string) => socket.write(bytes, 'latin1'),
    /** Resolves true once `pred(received)` holds, false after the timeout. */
    waitFor: (pred: (text: string) => boolean, timeoutMs = 2_000) => waitUntil(() => pred(text), timeoutMs),
    waitAnswers: (n: number, timeoutMs = 2_000) => waitUntil(() => splitAnswers(text).answers.length >= n, timeoutMs),
    waitClosed: (timeoutMs = 2_000) => waitUntil(() => closed, timeoutMs),
  };
}

/**
 * Sends `bytes` on a fresh connection (then half-closes if `end`) and returns everything the
 * server wrote before it closed the connection, `until` held, or the timeout passed.
 */
async function rawExchange(port: number, bytes: string, opts: { until?: (text: string) => boolean; timeoutMs?: number; end?: boolean } = {}) {
  const raw = openRaw(port);
  try {
    raw.write(bytes);
    if (opts.end) raw.socket.end();
    await raw.waitFor((t) => raw.closed || (opts.until?.(t) ?? false), opts.timeoutMs ?? 2_000);
    return { text: raw.text, closed: raw.closed };
  } finally {
    raw.socket.destroy();
  }
}

interface Answer {
  status: number;
  /** Lowercased name → value (last one wins); `head` has the raw lines. */
  headers: Record<string, string>;
  head: string;
  body: string;
}

/**
 * Splits a byte stream of HTTP/1.1 answers, framed by Content-Length. `headOnly[i]` marks the
 * answer to a HEAD request, which has no body whatever its Content-Length.
 */
function splitAnswers(text: string, headOnly: boolean[] = []): { answers: Answer[]; rest: string } {
  const answers: Answer[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = text.slice(at, end);
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = headOnly[answers.length] ? 0 : Number(headers['content-length'] ?? 0);
    if (text.length < end + 4 + length) break;
    const body = Buffer.from(text.slice(end + 4, end + 4 + length), 'latin1').toString('utf8');
    answers.push({ status: Number(statusLine.split(' ')[1]), headers, head, body });
    at = end + 4 + length;
  }
  return { answers, rest: text.slice(at) };
}

/** The only answer in `text`; fails when there is not exactly one, or bytes follow it. */
function onlyAnswer(text: string, headOnly = false): Answer {
  const { answers, rest } = splitAnswers(text, [headOnly]);
  assert.equal(answers.length, 1, `exactly one answer in ${JSON.stringify(text)}`);
  assert.equal(rest, '', 'nothing after the answer');
  return answers[0]!;
}

let cert: Promise<{ key: Buffer; cert: Buffer }> | undefined;
/** A throwaway self-signed certificate for localhost, made once per run with openssl. */
function selfSignedCert(): Promise<{ key: Buffer; cert: Buffer }> {
  cert ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bodyless-tls-'));
    try {
      const key = join(dir, 'key.pem');
      const crt = join(dir, 'cert.pem');
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', crt]);
      return { key: await readFile(key), cert: await readFile(crt) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return cert;
}

const get = (target: string, ...fields: string[]) => `GET ${target} HTTP/1.1\r\nHost: t\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;

/** curl, a real HTTP client; `-i` so the status line and header fields come back too. */
async function curl(url: string, ...args: string[]): Promise<Answer & { httpVersion: string }> {
  const { stdout } = await run('curl', ['-s', '-i', ...args, url], { encoding: 'buffer' });
  const text = stdout.toString('latin1');
  const { answers } = splitAnswers(text, [args.includes('-I')]);
  assert.equal(answers.length, 1, `curl got one answer: ${JSON.stringify(text)}`);
  return { ...answers[0]!, httpVersion: text.slice(0, text.indexOf(' ')) };
}

// ---- tests ---------------------------------------------------------------------------------

test('a GET is answered with its status, header fields, a Date and the Content-Length in UTF-8 bytes', async () => {
  const seen: BodylessRequest[] = [];
  const handler = (r: BodylessRequest): HttpAnswer => {
    seen.push(r);
    return { status: 200, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['X-Served-By', 'edge-1']], body: 'Zoë ☎' };
  };
  await withServer({ handler }, async (server, base) => {
    const before = Date.now();
    const res = await fetch(`${base}/0015651234ab.cfg?x=1`, { headers: { Authorization: 'Digest username="a"' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'Zoë ☎');
    assert.equal(res.headers.get('content-length'), '8', '"Zoë ☎" is 5 characters and 8 bytes');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('x-served-by'), 'edge-1');
    const date = Date.parse(res.headers.get('date') ?? '');
    assert.ok(Math.abs(date - before) < 5_000, `Date is now: ${res.headers.get('date')}`);
    assert.deepEqual(seen, [{ method: 'GET', target: '/0015651234ab.cfg?x=1', authorization: 'Digest username="a"', remoteAddress: '127.0.0.1' }]);

    // The same, byte for byte, as a raw client sees it.
    const raw = await rawExchange(server.port, get('/x', 'Connection: close'));
    const answer = onlyAnswer(raw.text);
    assert.match(answer.head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(answer.headers['content-length'], '8');
    assert.equal(answer.body, 'Zoë ☎');
  });
});

test('curl sees the same answer over HTTP/1.1', async () => {
  await withServer({ handler: () => ({ status: 404, headers: [['Content-Type', 'text/plain']], body: 'nope ☎\n' }) }, async (_server, base) => {
    const res = await curl(`${base}/missing.cfg`);
    assert.equal(res.httpVersion, 'HTTP/1.1');
    assert.equal(res.status, 404);
    assert.match(res.head, /^HTTP\/1\.1 404 Not Found/);
    assert.equal(res.body, 'nope ☎\n');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength('nope ☎\n')));
  });
});

test('a HEAD gets the Content-Length a GET would, and no body', async () => {
  const handler = (r: BodylessRequest): HttpAnswer => ({ status: 200, headers: [], body: r.target === '/big' ? 'Zoë ☎'.repeat(100) : 'small' });
  await withServer({ handler }, async (server, base) => {
    const res = await fetch(`${base}/big`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '800');
    assert.equal(await res.text(), '');

    const viaCurl = await curl(`${base}/big`, '-I');
    assert.equal(viaCurl.headers['content-length'], '800');

    // Pipelined behind a HEAD, the next answer starts right after the HEAD's head: no body bytes between.
    const raw = await rawExchange(server.port, `HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n${get('/small', 'Connection: close')}`);
    const { answers, rest } = splitAnswers(raw.text, [true, false]);
    assert.equal(answers.length, 2, JSON.stringify(raw.text));
    assert.match(raw.text, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.equal(answers[1]!.body, 'small');
    assert.equal(rest, '');
  });
});

test('a request with Connection: close gets Connection: close and the server closes the socket', async () => {
  await withServer({}, async (server) => {
    const raw = openRaw(server.port, { allowHalfOpen: true });
    try {
      raw.write(get('/bye', 'Connection: close'));
      assert.ok(await raw.waitFor(() => raw.ended), 'the server sent its FIN without waiting for the client');
      const answer = onlyAnswer(raw.text);
      assert.equal(answer.headers.connection, 'close');
      assert.equal(answer.body, 'GET /bye');
    } finally {
      raw.socket.destroy();
    }
  });
});

test('HTTP/1.1 keep-alive: two requests one after the other on one connection', async () => {
  await withServer({}, async (server) => {
    const raw = openRaw(server.port);
    try {
      raw.write(get('/one'));
      assert.ok(await raw.waitAnswers(1));
      const first = onlyAnswer(raw.text);
      assert.equal(first.body, 'GET /one');
      assert.equal(first.headers.connection, undefined, 'HTTP/1.1 keep-alive needs no Connection field');
      assert.equal(raw.closed, false);

      raw.write(get('/two'));
      assert.ok(await raw.waitAnswers(2));
      assert.deepEqual(splitAnswers(raw.text).answers.map((a) => a.body), ['GET /one', 'GET /two']);
      assert.equal(raw.closed, false, 'still open for a third');
    } finally {
      raw.socket.destroy();
    }
  });
});

test('two pipelined requests sent in one write are answered in order', async () => {
  await withServer({}, async (server) => {
    const raw = await rawExchange(server.port, `${get('/first')}\r\n${get('/second', 'Connection: close')}`);
    assert.equal(raw.closed, true);
    const { answers, rest } = splitAnswers(raw.text);
    assert.deepEqual(answers.map((a) => a.body), ['GET /first', 'GET /second']);
    assert.equal(answers[1]!.headers.connection, 'close');
    assert.equal(rest, '');
  });
});

test('an async handler keeps pipelined answers in order even when the first is the slowest', async () => {
  const started: string[] = [];
  const handler = async (r: BodylessRequest): Promise<HttpAnswer> => {
    started.push(r.target);
    await sleep(r.target === '/slow' ? 150 : 1);
    return echo(r);
  };
  await withServer({ handler }, async (server) => {
    const raw = await rawExchange(server.port, `${get('/slow')}${get('/fast')}${get('/last', 'Connection: close')}`);
    assert.deepEqual(splitAnswers(raw.text).answers.map((a) => a.body), ['GET /slow', 'GET /fast', 'GET /last']);
    assert.deepEqual(started, ['/slow', '/fast', '/last'], 'one request at a time');
    assert.equal(raw.closed, true);

    // The same when the next request arrives in its own packet while the slow one is pending.
    const client = openRaw(server.port);
    try {
      client.write(get('/slow'));
      await sleep(30);
      client.write(get('/fast', 'Connection: close'));
      assert.ok(await client.waitClosed());
      assert.deepEqual(splitAnswers(client.text).answers.map((a) => a.body), ['GET /slow', 'GET /fast']);
    } finally {
      client.socket.destroy();
    }
  });
});

test('many pipelined requests with large answers, read slowly, all arrive in order', async () => {
  const big = 'x'.repeat(64 * 1024);
  const handler = (r: BodylessRequest): HttpAnswer => ({ status: 200, headers: [], body: `${r.target}:${big}` });
  await withServer({ handler }, async (server) => {
    const raw = openRaw(server.port);
    try {
      raw.socket.pause(); // the server must wait for drain rather than buffer everything
      const n = 200;
      let requests = '';
      for (let i = 0; i < n; i++) requests += get(`/${i}`, ...(i === n - 1 ? ['Connection: close'] : []));
      raw.write(requests);
      await sleep(100);
      raw.socket.resume();
      assert.ok(await raw.waitClosed(5_000), 'all answered and closed');
      const { answers, rest } = splitAnswers(raw.text);
      assert.equal(answers.length, n);
      answers.forEach((a, i) => assert.equal(a.body, `/${i}:${big}`, `answer ${i}`));
      assert.equal(rest, '');
    } finally {
      raw.socket.destroy();
    }
  });
});

test('a request with a body is answered 400, its connection closed, and the handler never called', async () => {
  let handled = 0;
  const refused: Array<{ status: number; reason: string }> = [];
  const handler = (r: BodylessRequest) => { handled++; return echo(r); };
  await withServer({ handler, onRefused: ({ status, reason }) => refused.push({ status, reason }) }, async (server, base) => {
    const withLength = await rawExchange(server.port, `POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc${get('/after')}`);
    assert.equal(withLength.closed, true);
    const a = onlyAnswer(withLength.text);
    assert.equal(a.status, 400);
    assert.equal(a.headers.connection, 'close');

    const chunked = await rawExchange(server.port, `GET /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
    assert.equal(chunked.closed, true);
    assert.equal(onlyAnswer(chunked.text).status, 400);

    const viaCurl = await curl(`${base}/x`, '--data', 'abc');
    assert.equal(viaCurl.status, 400);

    assert.equal(handled, 0, 'the handler never saw a request with a body, nor one smuggled after it');
    assert.deepEqual(refused.map((r) => r.status), [400, 400, 400]);
    assert.ok(refused.every((r) => /body/.test(r.reason)), JSON.stringify(refused));
  });
});

test('garbage and an oversized head are refused (400, 431) and the server keeps serving', async () => {
  const refused: number[] = [];
  await withServer({ onRefused: ({ status }) => refused.push(status) }, async (server, base) => {
    const garbage = await rawExchange(server.port, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n');
    assert.equal(garbage.closed, true);
    assert.equal(onlyAnswer(garbage.text).status, 400);

    const huge = await rawExchange(server.port, `GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    assert.equal(huge.closed, true);
    const tooLarge = onlyAnswer(huge.text);
    assert.equal(tooLarge.status, 431);
    assert.match(tooLarge.head, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);

    // A huge head trickling in without its end is refused as soon as it passes the limit.
    const endless = await rawExchange(server.port, `GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ${'a'.repeat(20 * 1024)}`);
    assert.equal(onlyAnswer(endless.text).status, 431);

    const version = await rawExchange(server.port, 'GET / HTTP/2.0\r\nHost: t\r\n\r\n');
    assert.match(onlyAnswer(version.text).head, /^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);

    const res = await fetch(`${base}/still-here`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'GET /still-here');
    assert.deepEqual(refused, [400, 431, 431, 505]);
  });
});

test('a handler that throws, or whose promise rejects, gives a 500; onError is told and the server still serves', async () => {
  const errors: Array<{ message: string; target: string }> = [];
  const handler = (r: BodylessRequest): HttpAnswer | Promise<HttpAnswer> => {
    if (r.target === '/throws') throw new Error('sync boom');
    if (r.target === '/rejects') return Promise.reject(new Error('async boom'));
    return echo(r);
  };
  const onError = (err: unknown, r: BodylessRequest | undefined) => errors.push({ message: (err as Error).message, target: r?.target ?? '(no request)' });
  await withServer({ handler, onError }, async (server, base) => {
    const thrown = await fetch(`${base}/throws`);
    assert.equal(thrown.status, 500);
    assert.equal(thrown.headers.get('connection'), 'close');
    await thrown.text();

    const rejected = await fetch(`${base}/rejects`);
    assert.equal(rejected.status, 500);
    await rejected.text();

    // A request pipelined after a failing one is not answered: the connection is closed after the 500.
    const raw = await rawExchange(server.port, `${get('/throws')}${get('/after')}`);
    assert.equal(raw.closed, true);
    assert.equal(onlyAnswer(raw.text).status, 500);

    const ok = await fetch(`${base}/fine`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'GET /fine');
    assert.deepEqual(errors, [
      { message: 'sync boom', target: '/throws' },
      { message: 'async boom', target: '/rejects' },
      { message: 'sync boom', target: '/throws' },
    ]);
  });
});

test('a HEAD whose handler fails gets a 500 with no body after its head', async () => {
  await withServer({ handler: () => { throw new Error('boom'); }, onError: () => {} }, async (server) => {
    const raw = await rawExchange(server.port, 'HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n');
    const answer = onlyAnswer(raw.text, true); // fails when bytes follow the head
    assert.equal(answer.status, 500);
  });
});

test('a header value with CRLF from the handler becomes a 500, and no injected field reaches the client', async () => {
  const errors: unknown[] = [];
  const handler = (): HttpAnswer => ({ status: 200, headers: [['Location', '/x\r\nSet-Cookie: stolen=1']], body: 'secret body' });
  await withServer({ handler, onError: (err) => errors.push(err) }, async (server, base) => {
    const res = await fetch(`${base}/x`);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('set-cookie'), null);
    assert.equal(res.headers.get('location'), null);
    assert.doesNotMatch(await res.text(), /secret/);

    const raw = await rawExchange(server.port, get('/x'));
    assert.doesNotMatch(raw.text, /Set-Cookie|stolen|secret/);
    assert.equal(onlyAnswer(raw.text).status, 500);
    assert.equal(errors.length, 2);
  });
});

test('a head that does not arrive in time gets 408 and the connection is closed', async () => {
  const refused: number[] = [];
  await withServer({ headTimeoutMs: 300, onRefused: ({ status }) => refused.push(status) }, async (server) => {
    const started = Date.now();
    const raw = await rawExchange(server.port, 'GET /slow HTTP/1.1\r\nHo', { timeoutMs: 2_500 });
    assert.equal(raw.closed, true, `closed within 2.5 s (after ${Date.now() - started} ms)`);
    const answer = onlyAnswer(raw.text);
    assert.equal(answer.status, 408);
    assert.match(answer.head, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(answer.headers.connection, 'close');
    assert.deepEqual(refused, [408]);
  });
});

test('an idle keep-alive connection, and one that never sends anything, are closed after idleTimeoutMs', async () => {
  await withServer({ idleTimeoutMs: 300 }, async (server) => {
    const used = openRaw(server.port);
    const silent = openRaw(server.port);
    try {
      used.write(get('/one'));
      assert.ok(await used.waitAnswers(1));
      assert.equal(used.closed, false, 'open right after the answer');
      const [usedClosed, silentClosed] = await Promise.all([used.waitClosed(2_500), silent.waitClosed(2_500)]);
      assert.ok(usedClosed, 'the idle keep-alive connection was closed');
      assert.ok(silentClosed, 'the connection that sent nothing was closed');
      assert.equal(splitAnswers(used.text).answers.length, 1, 'nothing more was written to it');
      assert.equal(silent.text, '');
    } finally {
      used.socket.destroy();
      silent.socket.destroy();
    }
  });
});

test('a client that half-closes right after its request still gets the answer', async () => {
  const handler = async (r: BodylessRequest) => { await sleep(20); return echo(r); };
  await withServer({}, async (server) => {
    const sync = await rawExchange(server.port, get('/a'), { end: true });
    assert.equal(sync.closed, true);
    assert.equal(onlyAnswer(sync.text).body, 'GET /a');

    const two = await rawExchange(server.port, `${get('/a')}${get('/b')}`, { end: true });
    assert.deepEqual(splitAnswers(two.text).answers.map((a) => a.body), ['GET /a', 'GET /b']);
  });
  await withServer({ handler }, async (server) => {
    const slow = await rawExchange(server.port, `${get('/a')}${get('/b')}`, { end: true });
    assert.equal(slow.closed, true);
    assert.deepEqual(splitAnswers(slow.text).answers.map((a) => a.body), ['GET /a', 'GET /b'], 'async answers after the FIN');
  });
});

test('a client that half-closes in the middle of a head gets a 400', async () => {
  await withServer({}, async (server) => {
    const raw = await rawExchange(server.port, 'GET /a HTTP/1.1\r\nHost:', { end: true });
    assert.equal(raw.closed, true);
    assert.equal(onlyAnswer(raw.text).status, 400);
  });
});

test('HTTP/1.0: closed by default, kept open with Connection: keep-alive', async () => {
  await withServer({}, async (server) => {
    const plain = await rawExchange(server.port, 'GET /old HTTP/1.0\r\n\r\n');
    assert.equal(plain.closed, true);
    const closing = onlyAnswer(plain.text);
    assert.equal(closing.headers.connection, 'close');
    assert.equal(closing.body, 'GET /old');

    const raw = openRaw(server.port);
    try {
      raw.write('GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.ok(await raw.waitAnswers(1));
      assert.equal(splitAnswers(raw.text).answers[0]!.headers.connection, 'keep-alive');
      raw.write('GET /two HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.ok(await raw.waitAnswers(2), 'a second request on the same connection is answered');
      assert.equal(raw.closed, false);
    } finally {
      raw.socket.destroy();
    }
  });
});

test('over TLS, curl gets the answer', async () => {
  await withServer({ tls: await selfSignedCert(), handler: () => ({ status: 200, headers: [], body: 'Zoë ☎ over TLS' }) }, async (server) => {
    const res = await curl(`https://127.0.0.1:${server.port}/secure.cfg`, '-k');
    assert.equal(res.httpVersion, 'HTTP/1.1');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'Zoë ☎ over TLS');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength('Zoë ☎ over TLS')));

    // Plain HTTP to the TLS port is a failed handshake, not a crash.
    await assert.rejects(run('curl', ['-s', '--max-time', '2', `http://127.0.0.1:${server.port}/`]));
    assert.equal((await curl(`https://127.0.0.1:${server.port}/again`, '-k')).status, 200);
  });
});

test('close() ends open keep-alive connections and resolves', async () => {
  const server = await startBodylessHttpServer({ host: '127.0.0.1', handler: echo });
  const raw = openRaw(server.port);
  const half = openRaw(server.port);
  try {
    raw.write(get('/one'));
    assert.ok(await raw.waitAnswers(1));
    half.write('GET /half');
    await sleep(50);
    const closing = server.close();
    assert.equal(await Promise.race([closing.then(() => 'resolved'), sleep(1_000, 'pending')]), 'resolved');
    assert.ok(await raw.waitClosed(1_000), 'the keep-alive connection was closed');
    assert.ok(await half.waitClosed(1_000), 'the connection in the middle of a head was closed');
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: server.port });
      s.on('connect', () => { s.destroy(); resolve(false); });
      s.on('error', () => resolve(true));
    });
    assert.ok(refused, 'no longer listening');
  } finally {
    raw.socket.destroy();
    half.socket.destroy();
    await server.close();
  }
});

test('close() resolves even while a client that was answered, or refused, keeps its side open', async () => {
  // allowHalfOpen: these clients do not close their side when the server closes its own.
  const scenarios: Array<[name: string, bytes: string]> = [
    ['answered with Connection: close', get('/bye', 'Connection: close')],
    ['refused for sending a body', 'POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc'],
  ];
  const hung: string[] = [];
  for (const [name, bytes] of scenarios) {
    const server = await startBodylessHttpServer({ host: '127.0.0.1', handler: echo });
    const raw = openRaw(server.port, { allowHalfOpen: true });
    let closing: Promise<void> | undefined;
    try {
      raw.write(bytes);
      assert.ok(await raw.waitFor(() => raw.ended), `${name}: answered and the server sent its FIN`);
      closing = server.close();
      if (await Promise.race([closing.then(() => 'resolved'), sleep(1_000, 'pending')]) !== 'resolved') hung.push(name);
    } finally {
      raw.socket.destroy();
      await (closing ?? server.close());
    }
  }
  assert.deepEqual(hung, [], 'close() did not wait on these clients');
});

test('a refused client that keeps its side open and trickles bytes is disconnected within the timeouts', async () => {
  await withServer({ idleTimeoutMs: 300, headTimeoutMs: 300 }, async (server) => {
    const raw = openRaw(server.port, { allowHalfOpen: true });
    const trickle = setInterval(() => { if (!raw.closed) raw.write('a'); }, 200);
    try {
      raw.write('POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n');
      assert.ok(await raw.waitFor(() => raw.ended), 'refused with a 400 and a FIN');
      assert.equal(onlyAnswer(raw.text).status, 400);
      assert.ok(await raw.waitClosed(2_500), 'the server let go of the connection');
    } finally {
      clearInterval(trickle);
      raw.socket.destroy();
    }
  });
});

test('close() resolves even while a TLS client has connected but not begun its handshake', async () => {
  const server = await startBodylessHttpServer({ host: '127.0.0.1', tls: await selfSignedCert(), handler: echo });
  const raw = openRaw(server.port);
  const closing = (async () => {
    assert.ok(await raw.waitFor(() => raw.socket.readyState === 'open'), 'connected');
    return server.close();
  })();
  try {
    assert.equal(await Promise.race([closing.then(() => 'resolved'), sleep(1_000, 'pending')]), 'resolved');
  } finally {
    // If close() is stuck on this socket, let the server go through the protocol itself: finish
    // the handshake on the same TCP connection, then end it. Destroying the TCP connection
    // would not do: the server would keep its side forever, and this file would never exit.
    const secured = tlsConnect({ socket: raw.socket, rejectUnauthorized: false });
    secured.on('error', () => {});
    await Promise.race([new Promise((resolve) => secured.once('secureConnect', resolve)), sleep(2_000)]);
    secured.end();
    await Promise.race([closing, sleep(2_000)]);
    secured.destroy();
  }
});

test('serializeAnswer: framing per version, keep-alive and HEAD; refuses a value that could split the head', () => {
  const answer: HttpAnswer = { status: 200, headers: [['X-A', 'b']], body: 'Zoë' };
  const cases: Array<[name: string, opts: Parameters<typeof serializeAnswer>[1], connection: string | undefined, body: string]> = [
    ['HTTP/1.1 keep-alive: no Connection field', { headOnly: false, keepAlive: true, minorVersion: 1 }, undefined, 'Zoë'],
    ['HTTP/1.1 closing: Connection: close', { headOnly: false, keepAlive: false, minorVersion: 1 }, 'close', 'Zoë'],
    ['HTTP/1.0 keep-alive: Connection: keep-alive', { headOnly: false, keepAlive: true, minorVersion: 0 }, 'keep-alive', 'Zoë'],
    ['HTTP/1.0 closing: Connection: close', { headOnly: false, keepAlive: false, minorVersion: 0 }, 'close', 'Zoë'],
    ['HEAD: the head only', { headOnly: true, keepAlive: true, minorVersion: 1 }, undefined, ''],
  ];
  for (const [name, opts, connection, body] of cases) {
    const text = serializeAnswer(answer, opts);
    const headEnd = text.indexOf('\r\n\r\n');
    const a = splitAnswers(Buffer.from(text, 'utf8').toString('latin1'), [opts.headOnly]).answers[0]!;
    assert.match(text, /^HTTP\/1\.1 200 OK\r\nDate: [^\r]+ GMT\r\nX-A: b\r\n/, name);
    assert.equal(a.headers['content-length'], '4', `${name}: bytes, not characters`);
    assert.equal(a.headers.connection, connection, name);
    assert.equal(text.slice(headEnd + 4), body, name);
  }
  assert.match(serializeAnswer({ status: 299, headers: [], body: '' }, { headOnly: false, keepAlive: true, minorVersion: 1 }), /^HTTP\/1\.1 299 Unknown\r\n/);
  for (const bad of ['a\r\nX: y', 'a\nb', 'a\rb', 'a\0b']) {
    assert.throws(() => serializeAnswer({ status: 200, headers: [['X', bad]], body: '' }, { headOnly: false, keepAlive: true, minorVersion: 1 }), JSON.stringify(bad));
  }
});

/** RFC 3261 §17 state machines with a recording transport and short timers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequest, getHeader, type SipRequest, type SipResponse } from '../../src/sip/message.ts';
import { buildResponse } from '../../src/sip/response-builder.ts';
import { messageBytes, TransactionBudget } from '../../src/sip/limits-transactions.ts';
import { TransactionLayer, type TransactionIo } from '../../src/sip/transaction.ts';
import type { SipAddress } from '../../src/sip/transport.ts';

const T = { t1: 20, t2: 80, t4: 100, c: 200_000 };
const peer: SipAddress = { transport: 'udp', address: '127.0.0.1', port: 5999 };

function recorder(reliable = false): TransactionIo & { sent: Array<{ at: number; msg: SipRequest | SipResponse }> } {
  const start = Date.now();
  const sent: Array<{ at: number; msg: SipRequest | SipResponse }> = [];
  return { sent, send: async (msg) => void sent.push({ at: Date.now() - start, msg }), isReliable: () => reliable };
}

function req(method: string, branch = 'z9hG4bKtest'): SipRequest {
  return createRequest(method, 'sip:101@h', [
    ['via', `SIP/2.0/UDP 10.0.0.1:5060;branch=${branch}`],
    ['from', '<sip:a@h>;tag=f'],
    ['to', '<sip:101@h>'],
    ['call-id', 'cid'],
    ['cseq', `1 ${method}`],
  ]);
}

describe('transactions', () => {
  it('INVITE server: retransmits a non-2xx with Timer G until the ACK, then absorbs', async () => {
    const io = recorder();
    const layer = new TransactionLayer(io, T);
    const invite = req('INVITE');
    const tx = layer.createServer(invite, peer)!;
    tx.respond(buildResponse(invite, 486, { toTag: 'x' }));
    await sleep(200);
    const before = io.sent.length;
    assert.ok(before >= 3, `486 retransmitted (${before} sends)`);
    assert.equal(layer.matchServer(req('ACK')), tx, 'the ACK matches the INVITE transaction');
    tx.receiveAck();
    assert.equal(tx.state, 'confirmed');
    await sleep(150);
    assert.equal(io.sent.length, before, 'no retransmission after the ACK');
    assert.equal(layer.serverCount, 0, 'Timer I ended the transaction');
  });

  it('non-INVITE client: Timer E doubles up to T2, Timer F times out', async () => {
    const io = recorder();
    const layer = new TransactionLayer(io, T);
    let timedOut = false;
    layer.startClient(req('OPTIONS'), peer, { onResponse: () => {}, onTimeout: () => (timedOut = true), onTransportError: () => {} });
    await sleep(64 * T.t1 + 150);
    assert.equal(timedOut, true);
    const gaps = io.sent.slice(1).map((s, i) => s.at - io.sent[i]!.at);
    assert.ok(gaps.length >= 8, `retransmissions: ${gaps.join(',')}`);
    assert.ok(Math.max(...gaps) < T.t2 * 3, `intervals capped near T2: ${gaps.join(',')}`);
    assert.equal(layer.clientCount, 0);
  });

  it('INVITE client: ACKs a non-2xx hop by hop with the same branch and the response To-tag', async () => {
    const io = recorder(true);
    const layer = new TransactionLayer(io, T);
    const responses: number[] = [];
    const invite = req('INVITE', 'z9hG4bKclient');
    const tx = layer.startClient(invite, peer, { onResponse: (r) => responses.push(r.status), onTimeout: () => {}, onTransportError: () => {} });
    const busy = buildResponse(invite, 486, { toTag: 'callee' });
    assert.equal(layer.matchClient(busy), tx);
    tx.receive(buildResponse(invite, 180, { toTag: 'callee' }));
    tx.receive(busy);
    tx.receive(busy);
    assert.deepEqual(responses, [180, 486], 'retransmitted final absorbed');
    const ack = io.sent.map((s) => s.msg).find((m) => m.kind === 'request' && m.method === 'ACK');
    assert.ok(ack);
    assert.equal(getHeader(ack, 'via'), getHeader(invite, 'via'));
    assert.equal(getHeader(ack, 'to'), '<sip:101@h>;tag=callee');
    assert.equal(getHeader(ack, 'cseq'), '1 ACK');
    await sleep(20);
    assert.equal(layer.clientCount, 0, 'Timer D is zero on reliable transports');
  });

  it('non-INVITE server: resends the final response for a retransmitted request', () => {
    const io = recorder();
    const layer = new TransactionLayer(io, T);
    const bye = req('BYE');
    const tx = layer.createServer(bye, peer)!;
    tx.receiveRetransmission();
    assert.equal(io.sent.length, 0, 'nothing to resend before a response');
    tx.respond(buildResponse(bye, 200));
    tx.respond(buildResponse(bye, 500));
    layer.matchServer(bye)?.receiveRetransmission();
    assert.deepEqual(io.sent.map((s) => (s.msg.kind === 'response' ? s.msg.status : 0)), [200, 200]);
    layer.abortAll();
  });

  it('charges every live transaction to the budget and refunds it when the transaction ends', async () => {
    const io = recorder();
    const layer = new TransactionLayer(io, T, new TransactionBudget(2, 1_000_000));
    const first = req('OPTIONS', 'z9hG4bKbudget1');
    assert.equal(layer.admits(first), true);
    layer.createServer(first, peer)!.respond(buildResponse(first, 200));
    layer.startClient(req('OPTIONS', 'z9hG4bKbudget2'), peer, { onResponse: () => {}, onTimeout: () => {}, onTransportError: () => {} });
    assert.deepEqual(layer.held, { transactions: 2, bytes: messageBytes(first) * 2 });
    assert.equal(layer.admits(req('OPTIONS', 'z9hG4bKbudget3')), false, 'count spent');
    await sleep(64 * T.t1 + 150);
    assert.deepEqual(layer.held, { transactions: 0, bytes: 0 }, 'Timers J and F ended both and refunded them');
    assert.equal(layer.admits(req('OPTIONS', 'z9hG4bKbudget3')), true);
    const byBytes = new TransactionLayer(recorder(), T, new TransactionBudget(100, messageBytes(first) + 10));
    byBytes.createServer(first, peer);
    assert.equal(byBytes.admits(req('OPTIONS', 'z9hG4bKbudget4')), false, 'bytes spent');
    byBytes.abortAll();
    assert.equal(byBytes.held.bytes, 0, 'aborted transactions are refunded');
  });
});

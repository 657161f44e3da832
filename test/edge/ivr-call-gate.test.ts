import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IvrCallGate, type IvrCallTicket } from '../../src/edge/ivr-call-gate.ts';

function ticket(t: IvrCallTicket | string): IvrCallTicket {
  assert.equal(typeof t, 'object', `expected a ticket, got ${String(t)}`);
  return t as IvrCallTicket;
}

test('one call per desk, and a desk frees when its call ends', () => {
  const gate = new IvrCallGate({ perSource: 10, perPool: 10 });
  const first = ticket(gate.enter('10.0.0.1', 'desk-1'));
  assert.equal(gate.enter('10.0.0.2', 'desk-1'), 'desk-busy', 'from anywhere');
  ticket(gate.enter('10.0.0.1', 'desk-2'));
  first.release();
  ticket(gate.enter('10.0.0.2', 'desk-1'));
  assert.equal(gate.inProgress, 2);
});

test('one PIN entry per user across desks; the same call may claim again; release frees it', () => {
  const gate = new IvrCallGate({ perSource: 10, perPool: 10 });
  const a = ticket(gate.enter('10.0.0.1', 'desk-1'));
  const b = ticket(gate.enter('10.0.0.1', 'desk-2'));
  assert.equal(a.claimUser('bob'), true);
  assert.equal(a.claimUser('bob'), true);
  assert.equal(b.claimUser('bob'), false);
  assert.equal(b.claimUser('alice'), true);
  a.release();
  a.release();
  assert.equal(a.claimUser('bob'), false, 'a released ticket claims nothing');
  const c = ticket(gate.enter('10.0.0.3', 'desk-1'));
  assert.equal(c.claimUser('bob'), true);
  assert.equal(gate.inProgress, 2, 'a double release counts once');
});

test('caps per source address and per pool', () => {
  const cases: Array<[string, { perSource: number; perPool: number }, Array<[string, string]>, string[]]> = [
    ['per source', { perSource: 2, perPool: 10 }, [['a', 'd1'], ['a', 'd2'], ['a', 'd3'], ['b', 'd4']], ['ok', 'ok', 'source-busy', 'ok']],
    ['per pool', { perSource: 10, perPool: 3 }, [['a', 'd1'], ['b', 'd2'], ['c', 'd3'], ['d', 'd4']], ['ok', 'ok', 'ok', 'pool-busy']],
    ['pool before desk', { perSource: 10, perPool: 1 }, [['a', 'd1'], ['b', 'd1']], ['ok', 'pool-busy']],
  ];
  for (const [name, limits, calls, want] of cases) {
    const gate = new IvrCallGate(limits);
    const got = calls.map(([source, desk]) => {
      const t = gate.enter(source, desk);
      return typeof t === 'string' ? t : 'ok';
    });
    assert.deepEqual(got, want, name);
  }
  assert.throws(() => new IvrCallGate({ perSource: 0, perPool: 5 }), RangeError);
});

test('a source frees its slots as its calls end', () => {
  const gate = new IvrCallGate({ perSource: 1, perPool: 5 });
  const t = ticket(gate.enter('a', 'd1'));
  assert.equal(gate.enter('a', 'd2'), 'source-busy');
  t.release();
  ticket(gate.enter('a', 'd2'));
});

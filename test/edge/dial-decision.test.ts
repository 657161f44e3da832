import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideDial, dialledDigits, type DialCodes, type DeviceState } from '../../src/edge/dial-decision.ts';

const threeCx: DialCodes = { loginWithExtension: { prefix: '*77*', suffix: '*' }, logout: '*77*5*', emergencyNumbers: ['911', '112'] };
const yeastar: DialCodes = { login: '*93', logout: '*093', emergencyNumbers: ['999'] };

test('decideDial routes by code and device state', () => {
  const cases: Array<[string, DialCodes, DeviceState, string]> = [
    ['*77*101*', threeCx, 'idle', 'login:101'],
    ['*77*101*', threeCx, 'occupied', 'login:101'], // roaming: log straight in as someone else
    ['*77*5*', threeCx, 'occupied', 'logout'],
    ['*77*5*', threeCx, 'idle', 'block'],
    ['*77**', threeCx, 'idle', 'block'],
    ['*77*abc*', threeCx, 'idle', 'block'],
    ['911', threeCx, 'idle', 'emergency'],
    ['112', threeCx, 'occupied', 'emergency'],
    ['0044207946000', threeCx, 'idle', 'block'],
    ['0044207946000', threeCx, 'occupied', 'forward'],
    ['*62', threeCx, 'occupied', 'forward'], // queue login passes through
    ['999', threeCx, 'occupied', 'forward'], // 3CX voicemail
    ['*93', yeastar, 'idle', 'login:'],
    ['*093', yeastar, 'occupied', 'logout'],
    ['999', yeastar, 'idle', 'emergency'],
    ['*77*101*', threeCx, 'unknown', 'forward'], // not a hot desk phone: untouched
  ];
  for (const [dialled, codes, state, want] of cases) {
    const d = decideDial(dialled, state, codes);
    const got = d.action === 'login' ? `login:${d.extension ?? ''}` : d.action;
    assert.equal(got, want, `${dialled} on a ${state} device`);
  }
});

test('a phone still on its idle account can log out a desk that holds a session (it missed its re-sync)', () => {
  assert.deepEqual(decideDial('*77*5*', 'idle', threeCx, true), { action: 'logout' });
  assert.deepEqual(decideDial('0044207946000', 'idle', threeCx, true).action, 'block', 'it still may not call out');
});

test('an idle phone is told why it was blocked', () => {
  const d = decideDial('0044207946000', 'idle', threeCx);
  assert.deepEqual(d, { action: 'block', reason: 'Hot desk not logged in: emergency calls only' });
});

test('dialledDigits decodes percent-encoded stars', () => {
  assert.equal(dialledDigits('%2A77%2A101%2A'), '*77*101*');
  assert.equal(dialledDigits('*77*101*'), '*77*101*');
  assert.equal(dialledDigits('%zz'), '%zz');
});

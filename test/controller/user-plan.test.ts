import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planUser, type UserPlanInput } from '../../src/controller/user-reconciler.ts';
import { activeSession, base64, poolObject, userObject } from './objects.ts';

const goodSecret = { password: base64('Secret-Pw1'), pin: base64('4821') };
const input = (over: Partial<UserPlanInput> = {}): UserPlanInput => ({
  user: userObject(), pool: poolObject(), secretData: goodSecret, secretLabels: { 'hotdesk.io/pool': 'office' }, lost: undefined, sessions: [], ...over,
});
const ready = (reason: string, message: string, status: 'True' | 'False') => ({ type: 'Ready', status, reason, message, lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 1 });

test('the user plan: conditions, Events and when to look again', () => {
  const table: { what: string; input: UserPlanInput; ready: [string, string]; conflict?: string; events: string[]; requeue: boolean; unchanged?: boolean }[] = [
    { what: 'a valid user', input: input(), ready: ['True', 'SecretValid'], events: [], requeue: false },
    { what: 'no Secret', input: input({ secretData: undefined, secretLabels: null }), ready: ['False', 'SecretNotFound'], events: ['Warning/SecretNotFound'], requeue: true },
    { what: 'a Secret not labelled for the pool', input: input({ secretLabels: {} }), ready: ['False', 'SecretNotOptedIn'], events: ['Warning/SecretNotOptedIn'], requeue: true },
    { what: 'a Secret labelled for another pool', input: input({ secretLabels: { 'hotdesk.io/pool': 'paris' } }), ready: ['False', 'SecretForOtherPool'], events: ['Warning/SecretForOtherPool'], requeue: true },
    { what: 'no PIN', input: input({ secretData: { password: base64('pw') } }), ready: ['False', 'PinMissing'], events: ['Warning/PinMissing'], requeue: true },
    { what: 'a PIN too short for the pool', input: input({ secretData: { password: base64('pw'), pin: base64('12') } }), ready: ['False', 'PinInvalid'], events: ['Warning/PinInvalid'], requeue: true },
    { what: 'no pool', input: input({ pool: undefined }), ready: ['False', 'PoolNotFound'], events: ['Warning/PoolNotFound'], requeue: true },
    {
      what: 'an extension an older user holds: not Ready, Conflict',
      input: input({ lost: { claim: { kind: 'extension', key: 'k', value: '101', pool: 'office' }, holder: { kind: 'HotDeskUser', metadata: { name: 'alice' } } }, user: userObject('mallory') }),
      ready: ['False', 'DuplicateExtension'], conflict: 'DuplicateExtension', events: ['Warning/DuplicateExtension'], requeue: true,
    },
    {
      what: 'a conflict already reported: no second Event, nothing to write',
      input: input({
        lost: { claim: { kind: 'extension', key: 'k', value: '101', pool: 'office' }, holder: { kind: 'HotDeskUser', metadata: { name: 'alice' } } },
        user: userObject('mallory', '101', {
          observedGeneration: 1,
          conditions: [
            ready('DuplicateExtension', 'extension 101 is used in pool office by HotDeskUser alice, which is older and keeps it; logins as 101 reach HotDeskUser alice only until you change spec.extension or delete HotDeskUser alice', 'False'),
            { ...ready('DuplicateExtension', 'extension 101 is used in pool office by HotDeskUser alice, which is older and keeps it; logins as 101 reach HotDeskUser alice only until you change spec.extension or delete HotDeskUser alice', 'True'), type: 'Conflict' },
          ],
        }),
      }),
      ready: ['False', 'DuplicateExtension'], conflict: 'DuplicateExtension', events: [], requeue: true, unchanged: true,
    },
    {
      what: 'a resolved conflict: Ready again and the Conflict condition goes',
      input: input({ user: userObject('alice', '101', { observedGeneration: 1, conditions: [{ ...ready('DuplicateExtension', 'x', 'True'), type: 'Conflict' }, ready('DuplicateExtension', 'x', 'False')] }) }),
      ready: ['True', 'SecretValid'], events: [], requeue: false, unchanged: false,
    },
  ];
  for (const row of table) {
    const plan = planUser(row.input);
    const r = plan.conditions.find((c) => c.type === 'Ready');
    assert.deepEqual([r?.status, r?.reason], row.ready, `${row.what}: Ready`);
    assert.equal(plan.conditions.find((c) => c.type === 'Conflict')?.reason, row.conflict, `${row.what}: Conflict`);
    assert.deepEqual(plan.events.map((e) => `${e.type}/${e.reason}`), row.events, `${row.what}: events`);
    assert.equal(plan.requeueAfter !== undefined, row.requeue, `${row.what}: requeue`);
    if (row.unchanged !== undefined) assert.equal(plan.unchanged, row.unchanged, `${row.what}: unchanged`);
  }
});

test('the user plan lists the desks the user is logged in at, by session name', () => {
  const plan = planUser(input({ sessions: [activeSession('s2', 'desk-2', 'alice'), activeSession('s1', 'desk-1', 'alice'), activeSession('s3', 'desk-3', 'bob')] }));
  assert.deepEqual(plan.activeSessions, [{ session: 's1', device: 'desk-1' }, { session: 's2', device: 'desk-2' }]);
});

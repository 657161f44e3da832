import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition, isConditionTrue, mergeConditions, removeCondition, setCondition, type Condition } from '../../src/runtime/conditions.ts';

const T0 = '2025-01-01T00:00:00Z';
const NOW = new Date('2025-06-01T12:00:00.123Z');
const NOW_S = '2025-06-01T12:00:00Z';

const ready = (status: Condition['status'], extra: Partial<Condition> = {}): Condition => ({
  type: 'Ready',
  status,
  reason: 'R',
  message: 'm',
  lastTransitionTime: T0,
  ...extra,
});

test('setCondition: transition time moves only when status changes', () => {
  const table: Array<{ name: string; before: Condition[] | undefined; next: Parameters<typeof setCondition>[1]; want: Condition[] }> = [
    {
      name: 'new condition gets now',
      before: undefined,
      next: { type: 'Ready', status: 'True', reason: 'Up', message: 'all good', observedGeneration: 3 },
      want: [{ type: 'Ready', status: 'True', reason: 'Up', message: 'all good', lastTransitionTime: NOW_S, observedGeneration: 3 }],
    },
    {
      name: 'same status keeps the old time but takes reason, message and generation',
      before: [ready('True', { observedGeneration: 1 })],
      next: { type: 'Ready', status: 'True', reason: 'StillUp', message: 'fine', observedGeneration: 2 },
      want: [{ type: 'Ready', status: 'True', reason: 'StillUp', message: 'fine', lastTransitionTime: T0, observedGeneration: 2 }],
    },
    {
      name: 'status change takes now',
      before: [ready('True')],
      next: { type: 'Ready', status: 'False', reason: 'Down', message: 'broken' },
      want: [{ type: 'Ready', status: 'False', reason: 'Down', message: 'broken', lastTransitionTime: NOW_S }],
    },
    {
      name: 'other types are kept in order; a new type is appended',
      before: [ready('True'), { type: 'Synced', status: 'False', reason: 'S', message: '', lastTransitionTime: T0 }],
      next: { type: 'Degraded', status: 'Unknown', reason: 'Checking', message: '' },
      want: [ready('True'), { type: 'Synced', status: 'False', reason: 'S', message: '', lastTransitionTime: T0 }, { type: 'Degraded', status: 'Unknown', reason: 'Checking', message: '', lastTransitionTime: NOW_S }],
    },
    {
      name: 'an explicit transition time is used for a change',
      before: [ready('False')],
      next: { type: 'Ready', status: 'True', reason: 'Up', message: '', lastTransitionTime: '2025-03-03T03:03:03Z' },
      want: [{ type: 'Ready', status: 'True', reason: 'Up', message: '', lastTransitionTime: '2025-03-03T03:03:03Z' }],
    },
  ];
  for (const row of table) {
    const frozen = row.before ? structuredClone(row.before) : undefined;
    assert.deepEqual(setCondition(row.before, row.next, NOW), row.want, row.name);
    assert.deepEqual(row.before, frozen, `${row.name}: input untouched`);
  }
});

test('mergeConditions applies updates in order; helpers find, test and remove', () => {
  const merged = mergeConditions([ready('False')], [
    { type: 'Ready', status: 'True', reason: 'Up', message: '' },
    { type: 'Synced', status: 'True', reason: 'Ok', message: '' },
    { type: 'Ready', status: 'True', reason: 'Up2', message: '' },
  ], NOW);
  assert.equal(merged.length, 2);
  assert.equal(findCondition(merged, 'Ready')?.reason, 'Up2');
  assert.equal(findCondition(merged, 'Ready')?.lastTransitionTime, NOW_S);
  assert.equal(isConditionTrue(merged, 'Synced'), true);
  assert.equal(isConditionTrue(merged, 'Missing'), false);
  assert.deepEqual(removeCondition(merged, 'Ready').map((c) => c.type), ['Synced']);
});

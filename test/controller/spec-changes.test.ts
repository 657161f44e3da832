import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpecChanges } from '../../src/controller/spec-changes.ts';

test('SpecChanges passes first sightings and new generations, not status-only updates', () => {
  const changes = new SpecChanges();
  const pool = (generation: number, extra: object = {}) => ({ metadata: { uid: 'u1', name: 'office', generation, ...extra } });
  const seen = [
    changes.changed(pool(1)),
    changes.changed(pool(1)), // status update or resync
    changes.changed(pool(2)), // spec edited
    changes.changed(pool(2)),
    changes.changed(pool(2, { deletionTimestamp: '2026-01-01T00:00:00Z' })),
    changes.changed(pool(2)), // recreated under the same uid is seen afresh
  ];
  assert.deepEqual(seen, [true, false, true, false, true, true]);
});

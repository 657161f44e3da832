import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generationChanged } from '../../src/runtime/predicates.ts';
import type { KubeObject } from '../../src/runtime/resource.ts';

const pool = (generation: number, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { uid: 'u1', name: 'office', generation, ...extra } });

test('generationChanged passes creations, spec changes, deletions and recreations, not status updates or resyncs', () => {
  const cases: Array<{ name: string; got: boolean | undefined; want: boolean }> = [
    { name: 'first sighting', got: generationChanged.create?.(pool(1)), want: true },
    { name: 'status-only update', got: generationChanged.update?.(pool(1), pool(1, { resourceVersion: '9' })), want: false },
    { name: 'resync (old === new)', got: generationChanged.update?.(pool(1), pool(1)), want: false },
    { name: 'spec edited', got: generationChanged.update?.(pool(1), pool(2)), want: true },
    { name: 'deletion begins (finalizers still pending)', got: generationChanged.update?.(pool(2), pool(2, { deletionTimestamp: '2026-01-01T00:00:00Z' })), want: true },
    { name: 'deleted: the DELETE event carries the last generation unchanged', got: generationChanged.delete?.(pool(2)), want: true },
    { name: 'deleted and created again under the same name while the watch was down', got: generationChanged.update?.(pool(1), pool(1, { uid: 'u2' })), want: true },
  ];
  for (const c of cases) assert.equal(c.got, c.want, c.name);
});

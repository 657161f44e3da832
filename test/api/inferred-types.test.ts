import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  poolSpecSchema,
  type HotDeskDeviceSpecInput,
  type HotDeskPool,
  type HotDeskPoolSpec,
  type HotDeskPoolSpecInput,
  type HotDeskSessionStatus,
} from '../../src/api/index.ts';

// Compile-time checks (tsc runs before the tests): the types come from the same schema as the CRDs.
export function readDefaultedFields(spec: HotDeskPoolSpec): number {
  // Defaulted fields are always present on objects read from the API server.
  const port: number = spec.edge.sipPort;
  const transport: 'udp' | 'tcp' | 'tls' = spec.pbx.transport;
  const zone: string = spec.sessionPolicy.timeZone;
  // @ts-expect-error an optional field without a default may be absent
  const domain: string = spec.pbx.domain;
  void transport; void zone; void domain;
  return port + spec.pinPolicy.minLength;
}
export const minimalPool: HotDeskPoolSpecInput = { pbx: { host: 'pbx.example.com' }, emergency: { numbers: ['112'] } };
// @ts-expect-error emergency numbers are required
export const noEmergency: HotDeskPoolSpecInput = { pbx: { host: 'pbx.example.com' } };
// @ts-expect-error the transport is one of udp, tcp, tls
export const badTransport: HotDeskPoolSpecInput = { pbx: { host: 'h', transport: 'sctp' }, emergency: { numbers: ['112'] } };
// @ts-expect-error the vendor is one of the supported ones
export const badVendor: HotDeskDeviceSpecInput = { mac: '805ec0a1b2c3', vendor: 'acme', pool: 'p', idleIdentity: { username: 'HD1', secretRef: { name: 's' } } };
export const endReason = (s: HotDeskSessionStatus): 'logout' | 'forced' | 'roamed' | 'expired' | 'idle' | 'superseded' | 'deviceGone' | 'userGone' | 'poolGone' | 'disabled' | 'refused' | undefined => s.endReason;
export const poolKind = (p: HotDeskPool): 'HotDeskPool' => p.kind;

test('an object default carries its fields\' defaults, so the API server accepts it against the rules', () => {
  const pin = poolSpecSchema.openapi.properties?.pinPolicy;
  assert.deepEqual(pin?.default, { minLength: 4, maxLength: 8, maxAttempts: 3, lockoutDuration: '15m' });
  assert.deepEqual(poolSpecSchema.openapi.properties?.featureCodes?.default, { preset: '3cx' });
  assert.deepEqual(poolSpecSchema.openapi.properties?.sessionPolicy?.default, { loggedInElsewhere: 'kick', timeZone: 'UTC', retention: '24h' });
});

test('required fields are listed in the schema the API server enforces', () => {
  assert.deepEqual(poolSpecSchema.openapi.required, ['pbx', 'emergency']);
  assert.deepEqual(poolSpecSchema.openapi.properties?.pbx?.required, ['host']);
});

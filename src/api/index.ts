export * from './group.ts';
export * from './schema.ts';
export * from './conditions.ts';
export * from './crd.ts';
export * from './fields.ts';
export * from './feature-codes.ts';
export * from './pool.ts';
export * from './user.ts';
export * from './device.ts';
export * from './session.ts';

import type { CustomResourceDefinition } from './crd.ts';
import { deviceCrd } from './device.ts';
import { poolCrd } from './pool.ts';
import { sessionCrd } from './session.ts';
import { userCrd } from './user.ts';

/** Every CRD of the operator, in the order they are written and installed. */
export const CRDS: readonly CustomResourceDefinition[] = [poolCrd, userCrd, deviceCrd, sessionCrd];

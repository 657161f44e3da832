/**
 * Which desk a request from a phone acts for, decided from proof rather than from what the phone
 * writes in From. Two proofs count:
 *
 * - the flow: the request arrived on the transport, source address and port (and, for TCP/TLS,
 *   the connection) that a REGISTER came from and that the PBX's 2xx went back to. Behind NAT
 *   that is the NAT's mapping, which only the phone behind it can send from and hear on;
 * - a Digest answer (407 challenge) with the password of the identity the phone claims: the
 *   desk's idle account, or the SIP account of the user sitting at a desk.
 *
 * The From header can only narrow what a proven caller may do, never widen it. Pure: the edge
 * supplies the facts, every rule is a table row in a unit test.
 */
import type { DeviceState } from './dial-decision.ts';

/** The identities a flow registered (the PBX accepted them), and the desk it belongs to. */
export interface FlowRegistration {
  device: string;
  identities: readonly string[];
}

/** What the edge knows about the pool's desks, from its informer caches. */
export interface DeskDirectory {
  /** The device whose idle account this is, compared without case (PBXes differ on case). */
  deskOfIdleAccount(account: string): string | undefined;
  /** The device where the pool user with this extension sits now (an active session). */
  deskOfExtension(extension: string): string | undefined;
  /** The extension of the user whose session holds the device, if any. */
  occupantExtension(device: string): string | undefined;
  /** Whether a session holds the device (it may not have reached the phone yet). */
  occupied(device: string): boolean;
}

export type Caller =
  /** Proven to be a desk's phone. */
  | {
      kind: 'desk';
      device: string;
      proof: 'flow' | 'digest';
      /** How the phone may call: as the occupant only when it proved the occupant's account and calls as it. */
      state: Exclude<DeviceState, 'unknown'>;
      /** Whether the desk holds a session: logout works before the phone has re-synced. */
      deskOccupied: boolean;
      /** The occupant's extension when the phone calls as them; undefined: the desk's idle account. */
      assertedUser: string | undefined;
    }
  /** Claims a desk's identity on a flow that proves nothing: challenge with that identity's password. */
  | { kind: 'claim'; device: string; identity: string; account: 'idle' | 'user' }
  /** Neither proven nor claiming a hot desk: a phone of the PBX that is not a hot desk. */
  | { kind: 'other' };

/**
 * The caller behind a request that arrived on a registered flow, or that proved `identities` by
 * Digest. `fromUser` is the From header's user part, as the phone wrote it.
 */
export function provenCaller(device: string, identities: readonly string[], fromUser: string, proof: 'flow' | 'digest', desks: DeskDirectory): Extract<Caller, { kind: 'desk' }> {
  const occupant = desks.occupantExtension(device);
  const asOccupant = occupant !== undefined && fromUser === occupant && identities.includes(occupant);
  return {
    kind: 'desk',
    device,
    proof,
    state: asOccupant ? 'occupied' : 'idle',
    deskOccupied: desks.occupied(device),
    assertedUser: asOccupant ? occupant : undefined,
  };
}

/** The caller of a request that is not on a registered flow and carries no accepted Digest answer. */
export function claimedCaller(fromUser: string, desks: DeskDirectory): Extract<Caller, { kind: 'claim' | 'other' }> {
  if (fromUser === '') return { kind: 'other' };
  const idle = desks.deskOfIdleAccount(fromUser);
  if (idle !== undefined) return { kind: 'claim', device: idle, identity: fromUser, account: 'idle' };
  const seat = desks.deskOfExtension(fromUser);
  if (seat !== undefined) return { kind: 'claim', device: seat, identity: fromUser, account: 'user' };
  return { kind: 'other' };
}

/** The caller on a flow: proven when the flow registered, otherwise whatever From claims. */
export function attributeCaller(flow: FlowRegistration | undefined, fromUser: string, desks: DeskDirectory): Caller {
  if (flow) return provenCaller(flow.device, flow.identities, fromUser, 'flow', desks);
  return claimedCaller(fromUser, desks);
}

/**
 * Whether a request from the PBX may ring a desk phone: only for the identity the desk has now.
 * After alice logs out, the PBX may still hold her binding on the desk's flow (until it expires, or
 * for good with a registrar that keeps it); a call for her must not ring a desk she has left.
 */

export type DeskDelivery =
  | { deliver: true; identity: string }
  | { deliver: false; status: number; reason: string };

export interface DeskDeliveryInput {
  /** Who the request is for: the To user (in Path mode the Request-URI is the phone's own Contact). */
  calledIdentity: string | undefined;
  /** The desk's identity now: the occupant's extension, else its idle account; undefined when the flow's desk left the pool. */
  deskIdentity: string | undefined;
  /** Identities still registered on the flow the request would go out on. */
  flowIdentities: readonly string[];
  /** Whether an identity belongs to the pool (a user's extension or a desk's idle account). */
  isPoolIdentity: (identity: string) => boolean;
}

export function decideDeskDelivery(input: DeskDeliveryInput): DeskDelivery {
  const { calledIdentity, deskIdentity, flowIdentities } = input;
  if (flowIdentities.length === 0) return { deliver: false, status: 480, reason: 'Flow Not Registered' };
  if (deskIdentity === undefined) return { deliver: false, status: 404, reason: 'Not Found' };
  // The desk has changed hands but the phone has not registered its new identity yet.
  if (!flowIdentities.includes(deskIdentity)) return { deliver: false, status: 480, reason: 'Temporarily Unavailable' };
  if (calledIdentity === deskIdentity) return { deliver: true, identity: deskIdentity };
  // Someone of the pool who is not at this desk (any more).
  if (calledIdentity === undefined || input.isPoolIdentity(calledIdentity)) return { deliver: false, status: 480, reason: 'Temporarily Unavailable' };
  // A call the PBX forwarded from an outside number to the desk's current binding.
  return { deliver: true, identity: deskIdentity };
}

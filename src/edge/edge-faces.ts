import type { SipAddress } from '../sip/transport.ts';
import type { HostAddresses } from './pbx-addresses.ts';

/**
 * Which of the edge's two faces a next hop sees. Phones reach the edge on the pool's
 * edge.advertisedHost (a load balancer, a node); a PBX inside the cluster reaches it on the pod's
 * own IP, which is what it should find in our Via and Record-Route. Every other destination, and
 * a PBX outside the cluster, gets the advertised host (undefined here).
 */
export function pbxFacingHostChooser(
  pbxFacingHost: string | undefined,
  pbxHost: () => string | undefined,
  addresses: HostAddresses,
): ((destination: SipAddress) => string | undefined) | undefined {
  if (!pbxFacingHost) return undefined;
  return (destination) => {
    const host = pbxHost();
    if (!host) return undefined;
    // The address is the PBX's name itself when we send to pbx.host, one of its addresses otherwise.
    return destination.address === host || addresses.matches(host, destination.address) ? pbxFacingHost : undefined;
  };
}

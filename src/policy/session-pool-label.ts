/**
 * A session carries its pool as the label `hotdesk.io/pool`: the ValidatingAdmissionPolicy keys
 * each pool's edge to the sessions with its own pool's label (CEL cannot look up the device). The
 * edge sets it at login; the controller labels sessions made without it (kubectl, desk booking)
 * and refuses a session labelled for a pool its device is not in, so one pool's edge cannot take a
 * desk of another by labelling a session for itself. Pure.
 */
import { LABEL_POOL } from '../api/labels.ts';

export type SessionPoolLabel =
  | { action: 'keep' }
  | { action: 'label'; labels: Record<string, string> }
  | { action: 'refuse'; message: string };

export function sessionPoolLabel(labels: Readonly<Record<string, string>> | undefined, device: string, devicePool: string): SessionPoolLabel {
  const labelled = labels?.[LABEL_POOL];
  if (labelled === devicePool) return { action: 'keep' };
  if (labelled === undefined) return { action: 'label', labels: { [LABEL_POOL]: devicePool } };
  return { action: 'refuse', message: `metadata.labels["${LABEL_POOL}"]: the session is labelled for pool ${labelled}, but device ${device} belongs to pool ${devicePool}` };
}

import { objectPath, type KubeClient, type KubeObject } from '../runtime/index.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { CONTROLLER_FIELD_MANAGER } from '../api/labels.ts';

/**
 * Adds labels to a session made without them (kubectl, a desk-booking system), so that its pool's
 * edge may log it out under the admission policy. A merge patch of those labels only, with the
 * resourceVersion it was decided on: a concurrent change makes it fail with 409 and retry.
 */
export async function labelSession(client: KubeClient, session: KubeObject, labels: Record<string, string>): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: objectPath(HOTDESK_KINDS.session, session.metadata?.namespace, session.metadata?.name ?? ''),
    query: { fieldManager: CONTROLLER_FIELD_MANAGER },
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels, resourceVersion: session.metadata?.resourceVersion } },
  });
}

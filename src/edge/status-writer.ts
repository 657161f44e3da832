import { EDGE_FIELD_MANAGER } from '../api/labels.ts';
import { HOTDESK_KINDS } from '../api/kinds.ts';
import { objectPath, type KindDescriptor, type KubeClient } from '../runtime/index.ts';

/**
 * The edge writes only what it alone sees (registrations, re-syncs, PIN lockouts, activity) with
 * merge patches under its own field manager: each write names just its fields, so one concern's
 * write never drops another's, and the controller's fields are never touched.
 */
export class EdgeStatusWriter {
  readonly #client: KubeClient;
  readonly #namespace: string;

  constructor(client: KubeClient, namespace: string) {
    this.#client = client;
    this.#namespace = namespace;
  }

  device(name: string, status: Record<string, unknown>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.device, name, { status }, 'status');
  }

  user(name: string, status: Record<string, unknown>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.user, name, { status }, 'status');
  }

  session(name: string, status: Record<string, unknown>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.session, name, { status }, 'status');
  }

  sessionAnnotations(name: string, annotations: Record<string, string>): Promise<void> {
    return this.#patch(HOTDESK_KINDS.session, name, { metadata: { annotations } });
  }

  async #patch(kind: KindDescriptor, name: string, body: object, subresource?: string): Promise<void> {
    await this.#client.request({
      method: 'PATCH',
      path: objectPath(kind, this.#namespace, name, subresource),
      query: { fieldManager: EDGE_FIELD_MANAGER },
      contentType: 'application/merge-patch+json',
      body,
    });
  }
}

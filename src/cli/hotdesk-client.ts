import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, GROUP_VERSION, KINDS } from '../api/group.ts';
import type { DeviceView, SessionView, UserView } from './resources.ts';
import { withServerRetries } from './retry.ts';

/** Who wrote the objects this plugin creates, as shown in managedFields. */
export const FIELD_MANAGER = 'kubectl-hotdesk';

type Plural = (typeof KINDS)[keyof typeof KINDS]['plural'];

/** The few API calls the plugin makes, over client-node's CustomObjectsApi. */
export class HotDeskClient {
  readonly #api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async #list<T>(plural: Plural, namespace: string | undefined): Promise<T[]> {
    const common = { group: API_GROUP, version: API_VERSION, plural };
    const list = await withServerRetries(() => namespace === undefined
      ? this.#api.listClusterCustomObject(common)
      : this.#api.listNamespacedCustomObject({ ...common, namespace }));
    return ((list as { items?: T[] }).items ?? []);
  }

  /** namespace undefined = every namespace. */
  listDevices(namespace: string | undefined): Promise<DeviceView[]> {
    return this.#list(KINDS.device.plural, namespace);
  }

  listUsers(namespace: string | undefined): Promise<UserView[]> {
    return this.#list(KINDS.user.plural, namespace);
  }

  listSessions(namespace: string | undefined): Promise<SessionView[]> {
    return this.#list(KINDS.session.plural, namespace);
  }

  async getDevice(namespace: string, name: string): Promise<DeviceView> {
    return (await withServerRetries(() => this.#api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: KINDS.device.plural, name }))) as DeviceView;
  }

  async getSession(namespace: string, name: string): Promise<SessionView> {
    return (await withServerRetries(() => this.#api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: KINDS.session.plural, name }))) as SessionView;
  }

  async createSession(namespace: string, session: SessionView): Promise<SessionView> {
    const body = { apiVersion: GROUP_VERSION, kind: KINDS.session.kind, ...session };
    return (await withServerRetries(() => this.#api.createNamespacedCustomObject({
      group: API_GROUP, version: API_VERSION, namespace, plural: KINDS.session.plural, body, fieldManager: FIELD_MANAGER,
    }))) as SessionView;
  }

  /** Deletes a session, but only the very object that was listed (uid precondition), not a namesake. */
  async deleteSession(namespace: string, name: string, uid: string | undefined): Promise<void> {
    await withServerRetries(() => this.#api.deleteNamespacedCustomObject({
      group: API_GROUP, version: API_VERSION, namespace, plural: KINDS.session.plural, name,
      ...(uid ? { body: { preconditions: { uid } } } : {}),
    }));
  }
}

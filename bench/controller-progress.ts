import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, KINDS } from '../src/api/group.ts';
import { ANNOTATION_REVISION, PROVISIONING_SELECTOR } from '../src/api/labels.ts';

/**
 * Watches the benchmark namespace and notes the moment the controller has finished: every
 * device's ConfigMap carries the revision its status reports, every device is in the phase its
 * occupancy calls for (Provisioned=True), every session is Active and Ready, every user Ready.
 * Watches, not polling lists: they cost the API server almost nothing next to the controller's own.
 */
export interface ProgressCounts {
  devicesDone: number;
  sessionsDone: number;
  usersDone: number;
  configMaps: number;
}

interface Obj {
  metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  status?: {
    phase?: string;
    configRevision?: string;
    occupant?: { session?: string };
    conditions?: Array<{ type: string; status: string }>;
  };
}

const conditionTrue = (o: Obj, type: string) => o.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

export class FleetProgress {
  private readonly expected: Map<string, string | undefined>;
  private readonly sessionCount: number;
  private readonly userCount: number;
  private readonly cmRevision = new Map<string, string>();
  private readonly devices = new Map<string, Obj>();
  private readonly devicesDone = new Set<string>();
  private readonly sessionsDone = new Set<string>();
  private readonly usersDone = new Set<string>();
  private readonly aborts: AbortController[] = [];
  private readonly waiters: Array<(ms: number) => void> = [];
  private stopped = false;
  doneAt: number | undefined;

  /** expected: every device name → the session that should occupy it (undefined: idle). */
  constructor(expected: Map<string, string | undefined>, users: number, sessions: number) {
    this.expected = expected;
    this.userCount = users;
    this.sessionCount = sessions;
  }

  counts(): ProgressCounts {
    return { devicesDone: this.devicesDone.size, sessionsDone: this.sessionsDone.size, usersDone: this.usersDone.size, configMaps: this.cmRevision.size };
  }

  /** Starts the watches (from an empty namespace) and resolves once they are open. */
  async start(kc: KubeConfig, ns: string): Promise<void> {
    const cr = (plural: string) => `/apis/${API_GROUP}/${API_VERSION}/namespaces/${ns}/${plural}`;
    await Promise.all([
      this.watchKind(kc, `/api/v1/namespaces/${ns}/configmaps`, { labelSelector: PROVISIONING_SELECTOR }, (type, o) => this.onConfigMap(type, o)),
      this.watchKind(kc, cr(KINDS.device.plural), {}, (type, o) => this.onDevice(type, o)),
      this.watchKind(kc, cr(KINDS.session.plural), {}, (type, o) => this.onSession(type, o)),
      this.watchKind(kc, cr(KINDS.user.plural), {}, (type, o) => this.onUser(type, o)),
    ]);
  }

  /** Resolves with performance.now() at the moment everything was done. */
  done(): Promise<number> {
    if (this.doneAt !== undefined) return Promise.resolve(this.doneAt);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
  }

  private onConfigMap(type: string, o: Obj): void {
    const name = o.metadata?.name ?? '';
    const device = name.replace(/-provisioning$/, '');
    if (type === 'DELETED') this.cmRevision.delete(device);
    else this.cmRevision.set(device, o.metadata?.annotations?.[ANNOTATION_REVISION] ?? '');
    this.checkDevice(device);
  }

  private onDevice(type: string, o: Obj): void {
    const name = o.metadata?.name ?? '';
    if (type === 'DELETED') this.devices.delete(name);
    else this.devices.set(name, o);
    this.checkDevice(name);
  }

  private onSession(type: string, o: Obj): void {
    const name = o.metadata?.name ?? '';
    const ok = type !== 'DELETED' && o.status?.phase === 'Active' && conditionTrue(o, 'Ready');
    if (ok) this.sessionsDone.add(name);
    else this.sessionsDone.delete(name);
    this.checkAll();
  }

  private onUser(type: string, o: Obj): void {
    const name = o.metadata?.name ?? '';
    if (type !== 'DELETED' && conditionTrue(o, 'Ready')) this.usersDone.add(name);
    else this.usersDone.delete(name);
    this.checkAll();
  }

  private checkDevice(name: string): void {
    if (!this.expected.has(name)) return;
    const want = this.expected.get(name);
    const d = this.devices.get(name);
    const rev = this.cmRevision.get(name);
    const ok = d !== undefined && rev !== undefined && rev !== ''
      && d.status?.configRevision === rev
      && conditionTrue(d, 'Provisioned')
      && d.status.phase === (want ? 'Occupied' : 'Idle')
      && (want === undefined || d.status.occupant?.session === want);
    if (ok) this.devicesDone.add(name);
    else this.devicesDone.delete(name);
    this.checkAll();
  }

  private checkAll(): void {
    if (this.doneAt !== undefined) return;
    if (this.devicesDone.size === this.expected.size && this.sessionsDone.size === this.sessionCount && this.usersDone.size === this.userCount) {
      this.doneAt = performance.now();
      for (const w of this.waiters.splice(0)) w(this.doneAt);
    }
  }

  /** A watch that resumes where it left off when the server closes it (and starts over on 410). */
  private async watchKind(kc: KubeConfig, path: string, query: Record<string, string>, onEvent: (type: string, o: Obj) => void): Promise<void> {
    let resourceVersion = '0';
    const open = async (): Promise<void> => {
      if (this.stopped) return;
      const abort = await new Watch(kc).watch(path, { ...query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 }, (type, obj: Obj) => {
        const rv = obj?.metadata?.resourceVersion;
        if (rv) resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        if (type === 'ERROR') {
          // 410 Gone: our resourceVersion is too old; "0" replays the current state as ADDED.
          resourceVersion = '0';
          return;
        }
        onEvent(type, obj);
      }, () => {
        if (!this.stopped) setTimeout(() => void open().catch(() => undefined), 100);
      });
      this.aborts.push(abort);
    };
    await open();
  }
}

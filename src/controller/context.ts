import type { HotDeskDevice, HotDeskPool, HotDeskSession, HotDeskUser } from '../api/index.ts';
import type { Claims } from '../api/conflicts.ts';
import type { EventRecorder, Informer, KubeClient, KubeObject } from '../runtime/index.ts';
import type { Logger } from '../log.ts';
import type { DomainMetrics } from './domain-metrics.ts';
import type { WriteMemo } from './write-memo.ts';
import type { SecretLabelCache } from './secret-labels.ts';

/** What every hot-desk reconciler reads from and writes through. */
export interface HotDeskContext {
  client: KubeClient;
  recorder: EventRecorder;
  metrics: DomainMetrics;
  logger: Logger;
  now(): Date;
  /** Image of the edge pods when a pool names none. */
  edgeImage: string;
  /** Status last written per object, so a lagging cache does not cause the same write twice. */
  statusWrites: WriteMemo;
  /** Labels of the Secrets users and devices name: a pool may use only those labelled for it. */
  secretLabels: SecretLabelCache;
  caches: {
    pools: Informer<HotDeskPool & KubeObject>;
    users: Informer<HotDeskUser & KubeObject>;
    devices: Informer<HotDeskDevice & KubeObject>;
    sessions: Informer<HotDeskSession & KubeObject>;
    provisioning: Informer<KubeObject>;
    deployments: Informer<KubeObject>;
  };
  /** Who holds each MAC, idle account and extension: the older object of a conflict (src/api/conflicts.ts). */
  claims: {
    devices: Claims<HotDeskDevice & KubeObject>;
    users: Claims<HotDeskUser & KubeObject>;
  };
}

/** The API group and version every hot-desk resource is served under. */
export const API_GROUP = 'hotdesk.io';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** The category that makes `kubectl get hotdesk` list every kind at once. */
export const CATEGORY = 'hotdesk';

export const KINDS = {
  pool: { kind: 'HotDeskPool', plural: 'hotdeskpools', singular: 'hotdeskpool', shortNames: ['hdpool', 'hdp'] },
  user: { kind: 'HotDeskUser', plural: 'hotdeskusers', singular: 'hotdeskuser', shortNames: ['hduser', 'hdu'] },
  device: { kind: 'HotDeskDevice', plural: 'hotdeskdevices', singular: 'hotdeskdevice', shortNames: ['hddevice', 'hdd'] },
  session: { kind: 'HotDeskSession', plural: 'hotdesksessions', singular: 'hotdesksession', shortNames: ['hdsession', 'hds'] },
} as const;

export type KindKey = keyof typeof KINDS;

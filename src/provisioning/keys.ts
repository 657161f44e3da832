import type { ProvisionedKey, Vendor } from './model.ts';

/**
 * Key policy: which keys a hot-desk phone shows, decided once here so every vendor renders the same
 * layout. Pure: the reconciler calls planKeys, emits an Event for the dropped keys (users complain
 * that keys silently vanish when the desk's model has fewer keys than their own phone), and hands the
 * resulting list to a renderer.
 *
 * - shift   (3CX): key 1 is a logout key dialling the pool's logout code; the user's keys move down one.
 * - replace: the user's keys stay where they are; the logout key takes the model's last key.
 * - none:    the user's keys only, no logout key.
 *
 * An idle desk gets no keys at all: there is nobody to log out and no user whose keys to show. Its
 * dial plan is restricted to the emergency numbers (and the login code) by each renderer whose vendor
 * has a dial plan; the edge enforces the same block on every call anyway (403 for anything else), so
 * a phone that ignores its dial plan gains nothing.
 */

export const KEY_POLICIES = ['shift', 'replace', 'none'] as const;
export type KeyPolicy = (typeof KEY_POLICIES)[number];

export interface KeyPlanInput {
  policy: KeyPolicy;
  identityKind: 'idle' | 'occupied';
  /** The user's own keys, in their order (HotDeskUser spec). */
  userKeys: readonly ProvisionedKey[];
  /** The pool's logout feature code the logout key dials. */
  logoutCode: string;
  /** How many programmable keys the desk's model has (see keyCapacity). */
  capacity: number;
  logoutLabel?: string;
}

export interface DroppedKey {
  /** 1-based position in the user's own list. */
  position: number;
  key: ProvisionedKey;
}

export interface KeyPlan {
  keys: ProvisionedKey[];
  dropped: DroppedKey[];
}

export const DEFAULT_LOGOUT_LABEL = 'Logout';

export function planKeys(input: KeyPlanInput): KeyPlan {
  const capacity = Math.max(0, Math.floor(input.capacity));
  if (input.identityKind === 'idle') return { keys: [], dropped: [] };

  const logout: ProvisionedKey = { type: 'logout', value: input.logoutCode, label: input.logoutLabel ?? DEFAULT_LOGOUT_LABEL };
  const own = input.userKeys.map((key, i) => ({ position: i + 1, key }));

  switch (input.policy) {
    case 'none':
      return keep(own, capacity, []);
    case 'shift':
      return keep(own, capacity - 1, [logout].slice(0, capacity));
    case 'replace': {
      if (capacity === 0) return keep(own, 0, []);
      const plan = keep(own, capacity - 1, []);
      const padding = Array.from({ length: capacity - 1 - plan.keys.length }, (): ProvisionedKey => ({ type: 'empty', value: '', label: '' }));
      return { keys: [...plan.keys, ...padding, logout], dropped: plan.dropped };
    }
  }
}

function keep(own: readonly DroppedKey[], room: number, before: ProvisionedKey[]): KeyPlan {
  const fits = Math.max(0, room);
  return {
    keys: [...before, ...own.slice(0, fits).map((entry) => entry.key)],
    dropped: own.slice(fits),
  };
}

/** A short sentence for the Event the reconciler emits when keys did not fit. */
export function describeDropped(dropped: readonly DroppedKey[], model: string): string {
  const list = dropped.map((d) => `#${d.position} ${d.key.type} ${d.key.label || d.key.value}`).join(', ');
  return `${dropped.length} key(s) do not fit on a ${model}: ${list}`;
}

/**
 * Programmable keys per model, approximate (line keys plus the pages a model shows without an
 * expansion module). Keys are matched on the model name without spaces, dashes or a "SIP-" prefix.
 */
const KEY_CAPACITY: Partial<Record<Vendor, Record<string, number>>> = {
  yealink: { T54W: 27, T46U: 27, T46S: 27, T48U: 29, T48S: 29, T57W: 29, T53W: 21, T43U: 21, T42U: 15, T33G: 4, T31G: 2 },
  grandstream: { GRP2612: 16, GRP2613: 24, GRP2614: 24, GRP2615: 40, GRP2616: 40, GXP2170: 48, GXP2160: 24 },
  polycom: { VVX250: 4, VVX350: 6, VVX450: 12, VVX501: 12, VVX601: 16 },
  snom: { D785: 12, D765: 12, D735: 8, D717: 6, D385: 12, D375: 12 },
  fanvil: { X6U: 12, X5U: 10, X4U: 6, X3U: 3, X7: 10 },
};

export const DEFAULT_KEY_CAPACITY = 10;

export function keyCapacity(vendor: Vendor, model: string): number {
  const normalized = model.toUpperCase().replace(/^SIP-?/, '').replace(/[\s_-]+/g, '');
  return KEY_CAPACITY[vendor]?.[normalized] ?? DEFAULT_KEY_CAPACITY;
}

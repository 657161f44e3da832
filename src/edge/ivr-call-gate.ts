/**
 * Which feature-code calls may run on this edge now: a cap on IVR calls per source address and
 * per pool (each holds an RTP port, timers and the API's attention), and one call per desk and one
 * PIN entry per user at a time, so that parallel calls do not guess side by side. In memory: the
 * per-user limit across replicas is the API's attempt counter (pin-attempts.ts).
 */

export interface IvrCallLimits {
  /** Calls in progress from one source address (an office behind NAT is one address). */
  perSource: number;
  /** Calls in progress on this edge, for the whole pool. */
  perPool: number;
}

export const DEFAULT_IVR_CALL_LIMITS: IvrCallLimits = { perSource: 8, perPool: 32 };

export type GateRefusal = 'source-busy' | 'pool-busy' | 'desk-busy';

export interface IvrCallTicket {
  /** Takes the user's PIN entry for this call; false while another call of this edge holds it. */
  claimUser(user: string): boolean;
  /** Ends the call's claims. Idempotent. */
  release(): void;
}

export class IvrCallGate {
  readonly #limits: IvrCallLimits;
  readonly #bySource = new Map<string, number>();
  readonly #desks = new Set<string>();
  readonly #users = new Set<string>();
  #inProgress = 0;

  constructor(limits: IvrCallLimits = DEFAULT_IVR_CALL_LIMITS) {
    if (!(limits.perSource >= 1 && limits.perPool >= 1)) throw new RangeError('IVR call limits must be at least 1');
    this.#limits = limits;
  }

  get inProgress(): number {
    return this.#inProgress;
  }

  enter(source: string, desk: string): IvrCallTicket | GateRefusal {
    if (this.#inProgress >= this.#limits.perPool) return 'pool-busy';
    const fromSource = this.#bySource.get(source) ?? 0;
    if (fromSource >= this.#limits.perSource) return 'source-busy';
    if (this.#desks.has(desk)) return 'desk-busy';
    this.#inProgress++;
    this.#bySource.set(source, fromSource + 1);
    this.#desks.add(desk);
    let user: string | undefined;
    let released = false;
    return {
      claimUser: (name) => {
        if (released) return false;
        if (user === name) return true;
        if (this.#users.has(name)) return false;
        if (user !== undefined) this.#users.delete(user);
        user = name;
        this.#users.add(name);
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#inProgress--;
        const left = (this.#bySource.get(source) ?? 1) - 1;
        if (left > 0) this.#bySource.set(source, left);
        else this.#bySource.delete(source);
        this.#desks.delete(desk);
        if (user !== undefined) this.#users.delete(user);
      },
    };
  }
}

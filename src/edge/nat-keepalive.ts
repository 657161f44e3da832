/**
 * Which phone flows get a NAT keep-alive, and when (pure: no timers, no sockets). A phone that
 * registered over UDP sits behind a NAT whose binding closes after some idle time; the edge sends
 * it an OPTIONS every `intervalMs` so calls and check-sync NOTIFYs still reach it. Any answer, even
 * a 4xx, proves the phone alive; a flow that leaves `MAX_MISSES` in a row unanswered is forgotten
 * until it registers again.
 */
export const MAX_MISSES = 3;

/** A registered UDP flow as the registration table lists it (what the plan needs of it). */
export interface KeepaliveFlow {
  /** The flow's key (request-context.ts flowKey). */
  flow: string;
  /** When its binding expires: a new value means the phone registered again. */
  expiresAt: number;
}

interface FlowState {
  nextAt: number;
  /** The binding's expiry as last listed. */
  expiresAt: number;
  pending: boolean;
  misses: number;
  /** The binding's expiry when the flow was forgotten; a refreshed binding revives it. */
  forgottenAt?: number;
}

export class NatKeepalivePlan {
  readonly #intervalMs: number;
  readonly #flows = new Map<string, FlowState>();

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /**
   * The flows to ping now, given the registered ones. A new flow is first pinged one interval after
   * it is seen (its REGISTER just opened the binding); a flow whose ping is still out is skipped;
   * flows no longer registered are dropped.
   */
  due(registered: readonly KeepaliveFlow[], now: number): string[] {
    const seen = new Set<string>();
    const due: string[] = [];
    for (const { flow, expiresAt } of registered) {
      seen.add(flow);
      let state = this.#flows.get(flow);
      if (state === undefined) {
        state = { nextAt: now + this.#intervalMs, expiresAt, pending: false, misses: 0 };
        this.#flows.set(flow, state);
      }
      state.expiresAt = expiresAt;
      if (state.forgottenAt !== undefined) {
        if (state.forgottenAt === expiresAt) continue;
        // It registered again: a live phone once more.
        state.forgottenAt = undefined;
        state.misses = 0;
        state.nextAt = now + this.#intervalMs;
      }
      if (state.pending || now < state.nextAt) continue;
      state.pending = true;
      state.nextAt = now + this.#intervalMs;
      due.push(flow);
    }
    for (const flow of this.#flows.keys()) if (!seen.has(flow)) this.#flows.delete(flow);
    return due;
  }

  /** The phone answered (any status). */
  answered(flow: string): void {
    const state = this.#flows.get(flow);
    if (state === undefined) return;
    state.pending = false;
    state.misses = 0;
  }

  /** No answer (timeout or send error); 'forgotten' on the MAX_MISSES-th in a row. */
  unanswered(flow: string): 'missed' | 'forgotten' {
    const state = this.#flows.get(flow);
    if (state === undefined) return 'missed';
    state.pending = false;
    state.misses++;
    if (state.misses < MAX_MISSES) return 'missed';
    state.forgottenAt = state.expiresAt;
    return 'forgotten';
  }

  /** Flows being kept alive (not forgotten). */
  get activeCount(): number {
    let n = 0;
    for (const state of this.#flows.values()) if (state.forgottenAt === undefined) n++;
    return n;
  }
}

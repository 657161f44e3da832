import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { SipAddress } from '../sip/transport.ts';

/**
 * The addresses the pool's PBX host name stands for, resolved when the pool names a new host, so
 * the edge can tell the PBX's own requests (in-dialog requests towards a phone) from a phone's.
 */
export class PbxAddresses {
  #host: string | undefined;
  #addresses: ReadonlySet<string> = new Set();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  /** Follows the pool's pbx.host; resolves names in the background (IP literals at once). */
  track(host: string): void {
    if (host === this.#host) return;
    this.#host = host;
    if (isIP(host)) {
      this.#addresses = new Set([host]);
      return;
    }
    this.#addresses = new Set();
    lookup(host, { all: true })
      .then((found) => {
        if (this.#host === host) this.#addresses = new Set(found.map((a) => a.address));
      })
      .catch(this.#onError);
  }

  /** Whether a request came from the PBX: one of its addresses, from the port it listens on. */
  isPbx(source: SipAddress, pbxPort: number): boolean {
    return source.port === pbxPort && this.#addresses.has(source.address);
  }
}

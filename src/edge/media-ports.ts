/**
 * The login IVR's RTP ports on this replica: every port of the pool's range bound at start
 * (rtp-port-pool.ts), and, when a relay port is given, the media relay that passes a phone's RTP
 * to the replica whose call it is (media-relay.ts). Without a relay port (one replica, the demo)
 * a datagram no local call takes is dropped.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import { evenPorts, RtpPortPool, type RtpPortPoolHooks } from '../media/rtp-port-pool.ts';
import { MediaRelay, type MediaRelayOptions } from './media-relay.ts';

export interface MediaPorts {
  pool: RtpPortPool;
  stop(): Promise<void>;
}

const NO_RELAY: RtpPortPoolHooks = {
  stray: () => undefined,
  sendThrough: (_peer, _port, _to, _datagram, done) => done(new Error('no media relay')),
  borrowed: () => undefined,
  returned: () => undefined,
};

export async function startMediaPorts(opts: {
  host: string;
  range: { min: number; max: number };
  /** The media relay's port; undefined: no relay. */
  relayPort: number | undefined;
  ownAddress: MediaRelayOptions['ownAddress'];
  peers: MediaRelayOptions['peers'];
  registry: Registry;
  logger: Logger;
}): Promise<MediaPorts> {
  const relay = opts.relayPort === undefined ? undefined : await MediaRelay.start({ host: opts.host, port: opts.relayPort, ownAddress: opts.ownAddress, peers: opts.peers, registry: opts.registry, logger: opts.logger });
  let pool: RtpPortPool | undefined;
  try {
    pool = await RtpPortPool.bind(opts.host, evenPorts(opts.range), relay ? relay.hooksFor(() => pool) : NO_RELAY);
  } catch (err) {
    await relay?.close();
    throw err;
  }
  const bound = pool;
  return {
    pool: bound,
    stop: async () => {
      await relay?.close();
      await bound.close();
    },
  };
}

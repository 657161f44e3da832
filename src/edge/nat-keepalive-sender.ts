/**
 * Carries out NatKeepalivePlan: every second, an out-of-dialog OPTIONS from the edge's SIP socket
 * to each UDP flow that is due, and the answer (or its absence) reported back to the plan.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../log.ts';
import type { SipProxy } from '../sip/proxy.ts';
import { sendRequest } from '../sip/uac.ts';
import { NatKeepalivePlan } from './nat-keepalive.ts';
import type { RegisteredUdpFlow } from './registrations.ts';

export interface NatKeepaliveOptions {
  proxy: SipProxy;
  /** The registered UDP flows (RegistrationTable.udpFlows). */
  flows: () => RegisteredUdpFlow[];
  intervalSeconds: number;
  /** hotdesk_edge_nat_keepalives_total{result}: answered or unanswered. */
  counter?: Counter<'result'>;
  logger?: Logger;
}

const TICK_MS = 1_000;

/** Starts the keep-alives; returns a stop function. An interval of 0 sends none. */
export function startNatKeepalives(opts: NatKeepaliveOptions): () => void {
  if (!(opts.intervalSeconds > 0)) return () => {};
  const plan = new NatKeepalivePlan(opts.intervalSeconds * 1000);
  let stopped = false;
  const ping = ({ flow, peer: target }: RegisteredUdpFlow): void => {
    const host = target.address.includes(':') ? `[${target.address}]` : target.address;
    sendRequest(opts.proxy, { method: 'OPTIONS', uri: `sip:${host}:${target.port}`, destination: { host: target.address, port: target.port, transport: 'udp' } }).then(
      () => {
        if (stopped) return;
        plan.answered(flow);
        opts.counter?.inc({ result: 'answered' });
      },
      (err: unknown) => {
        if (stopped) return;
        opts.counter?.inc({ result: 'unanswered' });
        if (plan.unanswered(flow) === 'forgotten') {
          opts.logger?.debug({ address: target.address, port: target.port, err: err instanceof Error ? err.message : String(err) }, 'phone flow did not answer NAT keep-alives; no longer pinged until it registers again');
        }
      },
    );
  };
  const timer = setInterval(() => {
    const registered = opts.flows();
    const byKey = new Map(registered.map((flow) => [flow.flow, flow]));
    for (const due of plan.due(registered, Date.now())) ping(byKey.get(due)!);
  }, Math.min(TICK_MS, opts.intervalSeconds * 1000));
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

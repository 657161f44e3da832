import { getHeader } from '../sip/message.ts';
import { SipProxy } from '../sip/proxy.ts';

/**
 * The demo's stand-in for a tenant PBX, so `npm run demo` needs nothing but Node: it accepts
 * every REGISTER (echoing the binding, as a registrar does) and turns calls away with 480. The
 * tests use Kamailio as the PBX instead.
 */
export async function startStandInPbx(): Promise<{ port: number; registrations: string[]; stop(): Promise<void> }> {
  const pbx = new SipProxy({ host: '127.0.0.1', udpPort: 0, tcpPort: false });
  const registrations: string[] = [];
  pbx.on('request', (req, res) => {
    if (req.method === 'REGISTER') {
      const contact = getHeader(req.message, 'contact');
      const expires = getHeader(req.message, 'expires') ?? '3600';
      registrations.push(req.to?.uri.user ?? '');
      res.send(200, { headers: contact ? [['contact', /expires=/.test(contact) ? contact : `${contact};expires=${expires}`]] : [] });
      return;
    }
    res.send(480, { reason: 'Demo PBX: nobody to call here' });
  });
  await pbx.listen();
  return { port: pbx.address('udp').port, registrations, stop: () => pbx.close() };
}

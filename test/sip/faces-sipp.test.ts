/**
 * The edge's two faces against real SIPp peers on loopback addresses: a phone (127.0.0.3) reaches
 * the proxy on its advertised host (127.0.0.4), the PBX (127.0.0.2) is told the PBX-facing host
 * (127.0.0.5); each checks what it sees in Via and Record-Route, and a BYE from either side passes.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { pbxFacingHostChooser } from '../../src/edge/edge-faces.ts';
import { HostAddresses } from '../../src/edge/pbx-addresses.ts';
import { SipProxy } from '../../src/sip/proxy.ts';
import { freeLoopbackPort, startSipp, waitForListener, type SippRun } from './sipp.ts';

const PBX = '127.0.0.2';
const PHONE = '127.0.0.3';
const PHONE_FACE = '127.0.0.4';
const PBX_FACE = '127.0.0.5';

const running: SippRun[] = [];
const proxies: SipProxy[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) run.kill();
  for (const proxy of proxies.splice(0)) await proxy.close();
});

async function call(uasScenario: string, uacScenario: string): Promise<void> {
  const pbxPort = await freeLoopbackPort();
  const port = await freeLoopbackPort();
  const proxy = new SipProxy({
    host: '0.0.0.0',
    advertisedHost: PHONE_FACE,
    advertisedHostFor: pbxFacingHostChooser(PBX_FACE, () => PBX, new HostAddresses()),
    otherOwnHosts: [PBX_FACE],
    udpPort: port,
    tcpPort: false,
    timers: { t1: 200 },
  });
  proxies.push(proxy);
  proxy.on('request', (req) => void req.proxy({ destination: { host: PBX, port: pbxPort } }));
  await proxy.listen();
  const uas = await startSipp({ scenario: uasScenario, port: pbxPort, transport: 'udp', localAddress: PBX });
  running.push(uas);
  await waitForListener(pbxPort, 'udp');
  const uac = await startSipp({ scenario: uacScenario, port: await freeLoopbackPort(), transport: 'udp', localAddress: PHONE, remote: `${PHONE_FACE}:${port}`, service: '101' });
  running.push(uac);
  const [uacResult, uasResult] = await Promise.all([uac.done, uas.done]);
  const both = `SIPp phone:\n${uacResult.output}\nSIPp PBX:\n${uasResult.output}`;
  assert.equal(uacResult.code, 0, both);
  assert.equal(uasResult.code, 0, both);
}

describe('the edge\'s two faces with SIPp', { timeout: 120_000 }, () => {
  it('the PBX sees the PBX-facing host, the phone both Record-Routes; the phone\'s BYE passes', async () => {
    await call('faces-uas-hung-up.xml', 'faces-uac-hangs-up.xml');
  });

  it('the PBX\'s BYE follows its route set through the PBX face and reaches the phone from the phone face', async () => {
    await call('faces-uas-hangs-up.xml', 'faces-uac-hung-up.xml');
  });
});

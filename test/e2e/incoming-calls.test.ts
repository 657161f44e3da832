/**
 * Incoming calls ring the hot desk through the edge, on the phone's own flow through its NAT, for
 * both ways a PBX can be told to reach phones (pbx.phoneRouting): the desk phone (SIPp) sits on an
 * office LAN behind a NAT router (test/support/nat-topology.ts), Kamailio is the PBX in a namespace
 * that has no route to the office at all. The phone registers its idle account through the edge, a
 * user logs in at the desk (an admin session), the phone re-registers as her extension, and a caller
 * registered on Kamailio directly calls her: the desk rings, answers, and the caller hangs up. After
 * she logs out and the desk re-registers as idle, a call to her extension fails and never reaches
 * the desk, though the PBX still holds her binding. Finally the phone removes its binding
 * (Contact: *, Expires: 0) and the device no longer shows a registration. Last, requests from the
 * PBX's address naming a forged or altered token get 404 from the edge and reach no phone.
 * Each failure message carries the SIP trace of the three namespaces.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNatTopology, type NatTopology } from '../support/nat-topology.ts';
import { startKamailio, type Kamailio } from './kamailio.ts';
import { sessionYaml } from './manifests.ts';
import { expectPassed, startSipp } from './sipp.ts';
import { ALICE, BOB, eventually, POOL, startStack, type Stack } from './stack.ts';

/** Ports inside the namespaces: each namespace is the test's alone. */
const DESK_PHONE_PORT = { 'desk-1': 5062, 'desk-2': 5064 } as const;
const CALLER = '200';
const CALLER_PORT = 5070;
const PBX_PORTS = { contact: 5080, path: 5090 } as const;

let topology: NatTopology;
let stack: Stack;
/** Kamailio for pbx.phoneRouting path: the registrar keeps Path (use_path) and routes along it. */
let pathPbx: Kamailio;

before(async () => {
  topology = await createNatTopology();
  const pbxIp = topology.pbx.ip;
  stack = await startStack({
    namespace: 'e2e-incoming',
    edgeHost: topology.edgeIp,
    advertisedHost: topology.edgeIp,
    phoneRouting: 'contact',
    // A registrar without Path support for contact mode, as a 3CX-like PBX.
    pbx: { host: pbxIp, start: (emergencyPort) => startKamailio({ emergencyPort, host: pbxIp, port: PBX_PORTS.contact, netns: topology.pbx.netns }) },
  });
  pathPbx = await startKamailio({ emergencyPort: 5099, host: pbxIp, port: PBX_PORTS.path, netns: topology.pbx.netns, usePath: true });
});
after(async () => {
  await stack?.stop();
  await pathPbx?.stop();
  await topology?.destroy();
});

const edgeAddress = () => `${topology.edgeIp}:${stack.edge.sipPort}`;

async function deviceRegistration(device: string): Promise<{ identity: string; contact: string } | undefined> {
  return (await stack.getJson<any>('hotdeskdevice', device))?.status?.registration;
}

/** The desk phone on the office LAN registers `identity` through the edge, from its one port. */
async function registerDesk(device: keyof typeof DESK_PHONE_PORT, identity: string, scenario = 'register.xml'): Promise<void> {
  const port = DESK_PHONE_PORT[device];
  const run = await startSipp({ scenario, netns: topology.office.netns, host: topology.office.phoneIp, port, remote: edgeAddress(), keys: { user: identity, contact_port: port }, timeoutSeconds: 15 });
  await expectPassed(run, `${device} registering ${identity}`);
}

/** Registers until the edge has recorded the desk's binding for `identity` (it follows the pool's objects a moment later). */
async function deskRegistered(device: keyof typeof DESK_PHONE_PORT, identity: string, pbx: Kamailio): Promise<{ identity: string; contact: string }> {
  return eventually(`${device} registered as ${identity} at the PBX on ${pbx.port}`, async () => {
    await registerDesk(device, identity);
    const registration = await deviceRegistration(device);
    return registration?.identity === identity && pbx.log().includes(`PBX got REGISTER sip:127.0.0.1 from sip:${identity}@`) ? registration : undefined;
  }, 30_000, 500);
}

/** The caller, a phone registered on the PBX directly, beside it. */
async function registerCaller(pbx: Kamailio): Promise<void> {
  const run = await startSipp({ scenario: 'register.xml', netns: topology.pbx.netns, host: topology.pbx.ip, port: CALLER_PORT, remote: `${topology.pbx.ip}:${pbx.port}`, keys: { user: CALLER, contact_port: CALLER_PORT }, timeoutSeconds: 15 });
  await expectPassed(run, 'the caller registering on the PBX');
}

async function usePbx(pbx: Kamailio, mode: 'contact' | 'path'): Promise<void> {
  const r = await stack.cp.kubectl(['patch', 'hotdeskpool', POOL, '--type', 'merge', '-p', JSON.stringify({ spec: { pbx: { port: pbx.port, phoneRouting: mode } } })], { namespace: stack.ns });
  assert.equal(r.code, 0, r.stderr);
}

/** The desk phone waits for the edge's check-sync NOTIFY (its configuration changed) and acknowledges it. */
function deskHearsCheckSync(device: keyof typeof DESK_PHONE_PORT) {
  return startSipp({ scenario: 'notify.xml', netns: topology.office.netns, host: topology.office.phoneIp, port: DESK_PHONE_PORT[device], timeoutSeconds: 40 });
}

async function callRingsTheDesk(pbx: Kamailio, device: keyof typeof DESK_PHONE_PORT, extension: string): Promise<void> {
  const desk = await startSipp({ scenario: 'uas-answer.xml', netns: topology.office.netns, host: topology.office.phoneIp, port: DESK_PHONE_PORT[device], timeoutSeconds: 30 });
  const call = await startSipp({ scenario: 'call-answered.xml', netns: topology.pbx.netns, host: topology.pbx.ip, port: CALLER_PORT, remote: `${topology.pbx.ip}:${pbx.port}`, service: extension, keys: { caller: CALLER }, timeoutSeconds: 30 });
  // The caller hangs up: its BYE got a 200, and the desk answered, got the ACK and the BYE.
  await expectPassed(call, `the caller calling ${extension}`);
  const answered = await expectPassed(desk, `${device}'s phone answering`);
  // Through the NAT, from the edge, for the Contact the phone registered (restored in contact mode).
  assert.match(answered.messages, new RegExp(`INVITE sip:${extension}@${topology.office.phoneIp.replaceAll('.', '\\.')}:${DESK_PHONE_PORT[device]}`));
  assert.match(answered.messages, /BYE sip:/);
}

async function callDoesNotRingTheDesk(pbx: Kamailio, device: keyof typeof DESK_PHONE_PORT, extension: string): Promise<void> {
  const desk = await startSipp({ scenario: 'uas-answer.xml', netns: topology.office.netns, host: topology.office.phoneIp, port: DESK_PHONE_PORT[device], timeoutSeconds: 6 });
  const call = await startSipp({ scenario: 'call-unavailable.xml', netns: topology.pbx.netns, host: topology.pbx.ip, port: CALLER_PORT, remote: `${topology.pbx.ip}:${pbx.port}`, service: extension, keys: { caller: CALLER }, timeoutSeconds: 20 });
  const refused = await expectPassed(call, `the caller calling ${extension} after the logout`);
  assert.match(refused.messages, /SIP\/2\.0 480/);
  const unrung = await desk.done;
  assert.doesNotMatch(unrung.messages, /INVITE sip:/, 'the desk phone saw no INVITE');
  // The PBX did try: it still held the binding, and the edge refused.
  assert.match(pbx.log(), new RegExp(`PBX got INVITE sip:${extension}@`));
}

async function loginAndLogout(mode: 'contact' | 'path', pbx: Kamailio, device: keyof typeof DESK_PHONE_PORT, idle: string, user: { name: string; extension: string }): Promise<void> {
  await registerCaller(pbx);
  const idleBinding = await deskRegistered(device, idle, pbx);
  // The device keeps the phone's own Contact (on the office LAN), not the edge's the PBX stored.
  assert.match(idleBinding.contact, new RegExp(`@${topology.office.phoneIp.replaceAll('.', '\\.')}:`));

  const session = `${user.name}-at-${device}`;
  let checkSync = await deskHearsCheckSync(device);
  await stack.apply(sessionYaml(stack.ns, session, device, user.name));
  await eventually('session Active', async () => (await stack.getJson<any>('hotdesksession', session))?.status?.phase === 'Active');
  // The phone hears its configuration changed (through the NAT) and re-registers as the user's extension.
  await expectPassed(checkSync, `${device}'s phone hearing check-sync after the login`);
  await deskRegistered(device, user.extension, pbx);
  await callRingsTheDesk(pbx, device, user.extension);
  // What the PBX stored for the binding: the edge with a flow token, never the phone's LAN address
  // as a destination (the PBX has no route there).
  const edge = `${topology.edgeIp.replaceAll('.', '\\.')}:${stack.edge.sipPort}`;
  const phone = `${user.extension}@${topology.office.phoneIp.replaceAll('.', '\\.')}:${DESK_PHONE_PORT[device]}`;
  const token = '[A-Za-z0-9_-]{8,}';
  assert.match(pbx.log(), mode === 'contact'
    ? new RegExp(`PBX lookup found sip:${token}@${edge} dst <null>`)
    : new RegExp(`PBX lookup found sip:${phone};transport=UDP dst sip:${token}@${edge};lr;ob`));

  // The user logs out: the desk re-registers as idle; the PBX still holds her binding on the flow.
  checkSync = await deskHearsCheckSync(device);
  const r = await stack.cp.kubectl(['delete', 'hotdesksession', session, '--wait=true'], { namespace: stack.ns });
  assert.equal(r.code, 0, r.stderr);
  await expectPassed(checkSync, `${device}'s phone hearing check-sync after the logout`);
  await deskRegistered(device, idle, pbx);
  await callDoesNotRingTheDesk(pbx, device, user.extension);

  // The phone leaves: removing its bindings clears the device's registration.
  await registerDesk(device, idle, 'unregister.xml');
  await eventually(`${device}'s registration cleared (${mode})`, async () => (await deviceRegistration(device)) === undefined);
}

describe('incoming calls ring the hot desk through the edge', { timeout: 300_000 }, () => {
  it('contact mode: the edge registers its own Contact with a flow token; alice rings at desk-1 until she logs out', () => topology.withTrace(async () => {
    await loginAndLogout('contact', stack.kamailio, 'desk-1', 'HD0001', ALICE);
  }));

  it('path mode: the edge adds a Path with a flow token and the PBX routes along it; bob rings at desk-2 until he logs out', () => topology.withTrace(async () => {
    await usePbx(pathPbx, 'path');
    await loginAndLogout('path', pathPbx, 'desk-2', 'HD0002', BOB);
  }));

  it('a forged or altered flow token from the PBX gets 404 and reaches no phone', () => topology.withTrace(async () => {
    // A token the edge really wrote (contact mode, desk-1's flow), one character changed.
    const real = /PBX lookup found sip:([A-Za-z0-9_-]{8,})@/.exec(stack.kamailio.log())?.[1];
    assert.ok(real, 'the contact-mode PBX stored a token');
    const altered = `${real.slice(0, 10)}${real[10] === 'A' ? 'B' : 'A'}${real.slice(11)}`;
    // The stand-in for a misbehaving PBX sends from the PBX's address and the port the pool names.
    const PBX_SENDER_PORT = 5075;
    await usePbx({ port: PBX_SENDER_PORT } as Kamailio, 'contact');
    const desk = await startSipp({ scenario: 'uas-answer.xml', netns: topology.office.netns, host: topology.office.phoneIp, port: DESK_PHONE_PORT['desk-1'], timeoutSeconds: 12 });
    for (const token of [altered, 'forgedtoken0123456789']) {
      // Until the edge follows the pool to the new port, the request is a phone's and goes to the PBX (404 Not Found).
      await eventually(`404 Unknown Flow for ${token}`, async () => {
        const run = await startSipp({ scenario: 'call-rejected.xml', netns: topology.pbx.netns, host: topology.pbx.ip, port: PBX_SENDER_PORT, remote: edgeAddress(), service: token, keys: { caller: CALLER }, timeoutSeconds: 10 });
        return /SIP\/2\.0 404 Unknown Flow/.test((await expectPassed(run, `a request for ${token}`)).messages);
      }, 20_000, 500);
    }
    const unrung = await desk.done;
    assert.doesNotMatch(unrung.messages, /INVITE sip:/, 'the desk phone saw no INVITE');
  }));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyReplicas, replicaAddress, replicaName, type EndpointSlice } from '../../src/edge/replica-peers.ts';

const sipPorts = [{ name: 'sip-udp', port: 5060, protocol: 'UDP' }, { name: 'sip-tcp', port: 5060, protocol: 'TCP' }, { name: 'http', port: 8080, protocol: 'TCP' }];

function slice(addressType: string, endpoints: EndpointSlice['endpoints'], ports: EndpointSlice['ports'] = sipPorts): EndpointSlice {
  return { metadata: { name: 'london-edge-abcde', namespace: 'tenants' }, addressType, endpoints, ports };
}

const cases: Array<{ name: string; slices: EndpointSlice[]; ready: string[] }> = [
  {
    name: 'ready endpoints at the SIP port, not the HTTP one',
    slices: [slice('IPv4', [{ addresses: ['10.244.0.12'], conditions: { ready: true } }, { addresses: ['10.244.0.13'], conditions: { ready: true } }])],
    ready: ['10.244.0.12:5060', '10.244.0.13:5060'],
  },
  {
    name: 'a pod not ready (starting or terminating) is no peer',
    slices: [slice('IPv4', [{ addresses: ['10.244.0.12'], conditions: { ready: false } }, { addresses: ['10.244.0.13'], conditions: { ready: true } }])],
    ready: ['10.244.0.13:5060'],
  },
  {
    name: 'an unknown ready state counts as ready, as the API says',
    slices: [slice('IPv4', [{ addresses: ['10.244.0.12'], conditions: {} }, { addresses: ['10.244.0.14'] }])],
    ready: ['10.244.0.12:5060', '10.244.0.14:5060'],
  },
  {
    name: 'slices with their own ports (a named target port resolved per pod) each count at theirs',
    slices: [
      slice('IPv4', [{ addresses: ['127.0.0.11'] }], [{ name: 'sip-udp', port: 15061 }]),
      slice('IPv4', [{ addresses: ['127.0.0.12'] }], [{ name: 'sip-tcp', port: 15062 }]),
    ],
    ready: ['127.0.0.11:15061', '127.0.0.12:15062'],
  },
  {
    name: 'IPv6 addresses in brackets, as flow tokens name replicas',
    slices: [slice('IPv6', [{ addresses: ['fd00::12'] }])],
    ready: ['[fd00::12]:5060'],
  },
  {
    name: 'an FQDN slice or one without a SIP port names no replica',
    slices: [slice('FQDN', [{ addresses: ['edge.example.com'] }]), slice('IPv4', [{ addresses: ['10.244.0.15'] }], [{ name: 'http', port: 8080 }])],
    ready: [],
  },
  { name: 'no slices at all', slices: [], ready: [] },
  { name: 'a slice with no endpoints (every pod gone)', slices: [slice('IPv4', null)], ready: [] },
];

for (const c of cases) {
  test(`replica peers: ${c.name}`, () => {
    assert.deepEqual([...readyReplicas(c.slices)].sort(), c.ready);
  });
}

test('replica peers: a replica name gives back its address, IPv4 or IPv6', () => {
  assert.deepEqual(replicaAddress(replicaName('10.244.0.12', 5060), 'udp'), { transport: 'udp', address: '10.244.0.12', port: 5060 });
  assert.deepEqual(replicaAddress(replicaName('fd00::12', 5061), 'tcp'), { transport: 'tcp', address: 'fd00::12', port: 5061 });
});

test('replica peers: what is not host:port names no address', () => {
  for (const name of ['', '10.244.0.12', '10.244.0.12:', '10.244.0.12:99999', 'fd00::12:5060', '[fd00::12]', 'a:b:5060', '10.244.0.12:0']) {
    assert.equal(replicaAddress(name, 'udp'), undefined, name);
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProvisioningTemplateError, renderProvisioning } from '../../src/provisioning/index.ts';
import { GRANDSTREAM_DEFAULT_DIAL_PLAN } from '../../src/provisioning/grandstream.ts';
import type { ProvisioningInput, RenderedFile, SipTransport, Vendor } from '../../src/provisioning/model.ts';
import { PASSWORD_PLACEHOLDER } from '../../src/provisioning/placeholders.ts';
import { isXmlContentType } from '../../src/provisioning/xml.ts';
import { ALL_VENDORS, KINDS, SAMPLE_MACS, sampleInput } from './fixtures.ts';
import { checkXml } from './xml-check.ts';

function file(vendor: Vendor, kind: 'idle' | 'occupied', name: string, tweak?: (input: ProvisioningInput) => void): RenderedFile {
  const input = sampleInput(vendor, kind);
  tweak?.(input);
  const found = renderProvisioning(input).files.find((f) => f.name === name);
  assert.ok(found, `${vendor} renders ${name}`);
  return found;
}

/** key = value (Yealink) or Key :value (Fanvil) lines as a map. */
function settings(content: string, separator: RegExp): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of content.split(/\r?\n/)) {
    const m = separator.exec(line);
    if (m) map.set(m[1]!.trim(), m[2]!);
  }
  return map;
}
const yealink = (content: string) => settings(content, /^([a-z_0-9.]+) = (.*)$/);
const fanvil = (content: string) => settings(content, /^([^:<]+):(.*)$/);

describe('XML files are well-formed and use the vendor vocabulary', () => {
  const expectations: Record<string, { root: string; elements?: string[]; attributes?: string[] }> = {
    grandstream: { root: 'gs_provision', elements: ['config', 'mac', 'P271', 'P270', 'P47', 'P130', 'P35', 'P36', 'P34', 'P3', 'P48', 'P290', 'P1363', 'P1364', 'P1465', 'P1466'] },
    'polycom-master': { root: 'APPLICATION', attributes: ['APP_FILE_PATH', 'CONFIG_FILES'] },
    polycom: { root: 'polycomConfig', attributes: ['reg.1.address', 'reg.1.auth.userId', 'reg.1.auth.password', 'reg.1.displayName', 'reg.1.label', 'voIpProt.server.1.address', 'voIpProt.server.1.port', 'voIpProt.server.1.transport', 'dialplan.digitmap', 'lineKey.1.category'] },
    snom: { root: 'settings', elements: ['phone-settings', 'functionKeys', 'user_realname', 'user_name', 'user_pname', 'user_pass', 'user_host', 'user_outbound', 'fkey'] },
  };
  for (const vendor of ALL_VENDORS) {
    for (const kind of KINDS) {
      for (const f of renderProvisioning(sampleInput(vendor, kind)).files.filter((f) => isXmlContentType(f.contentType))) {
        it(`${vendor} ${kind} ${f.name}`, () => {
          const summary = checkXml(f.content);
          const expected = expectations[vendor === 'polycom' && !f.name.endsWith('-phone.cfg') ? 'polycom-master' : vendor];
          assert.ok(expected, `an expectation for ${vendor}`);
          assert.equal(summary.root, expected.root);
          for (const name of expected.elements ?? []) assert.ok(summary.elements.has(name), `<${name}> present`);
          for (const name of expected.attributes ?? []) assert.ok(summary.attributes.has(name), `${name}="" present`);
        });
      }
    }
  }

  it('the checker itself rejects broken XML', () => {
    for (const broken of ['<a><b></a></b>', '<a x="1" x="2"/>', '<a>R&D</a>', '<a/><b/>', '<a>', '<a x=1/>']) {
      assert.throws(() => checkXml(broken), /not well-formed/, broken);
    }
  });
});

describe('idle phones may dial only emergency numbers and the login code', () => {
  it('Yealink: account digit map, "Forbidden Number" on anything else; occupied switches it off', () => {
    const idle = yealink(file('yealink', 'idle', `${SAMPLE_MACS.yealink}.cfg`).content);
    assert.equal(idle.get('account.1.dialplan.digitmap.enable'), '1');
    assert.equal(idle.get('account.1.dialplan.digitmap.string'), '112|911|*77*[x*#].T');
    assert.equal(idle.get('account.1.dialplan.digitmap.no_match_action'), '1');
    const occupied = yealink(file('yealink', 'occupied', `${SAMPLE_MACS.yealink}.cfg`).content);
    assert.equal(occupied.get('account.1.dialplan.digitmap.enable'), '0');
  });
  it('Grandstream: P290 allow-list; occupied restores the default dial plan', () => {
    const idle = checkXml(file('grandstream', 'idle', `cfg${SAMPLE_MACS.grandstream}.xml`).content);
    assert.equal(idle.text.get('P290'), '{ 112 | 911 | \\*77\\* | \\*77\\*x+ | \\*77\\*x+\\* }');
    const occupied = checkXml(file('grandstream', 'occupied', `cfg${SAMPLE_MACS.grandstream}.xml`).content);
    assert.equal(occupied.text.get('P290'), GRANDSTREAM_DEFAULT_DIAL_PLAN);
  });
  it('Polycom: digit map with reorder tone on an impossible match', () => {
    const idle = file('polycom', 'idle', `${SAMPLE_MACS.polycom}-phone.cfg`).content;
    assert.match(idle, /dialplan\.digitmap="112\|911\|\*77\*\[x\*#\]\.T"/);
    assert.match(idle, /dialplan\.impossibleMatchHandling="1"/);
  });
  it('emergency numbers are reduced to dialable characters', () => {
    const content = file('yealink', 'idle', `${SAMPLE_MACS.yealink}.cfg`, (input) => {
      input.emergencyNumbers = ['1 1 2', '+1-911|x'];
    }).content;
    assert.equal(yealink(content).get('account.1.dialplan.digitmap.string'), '112|+1911|*77*[x*#].T');
  });
  it('no keys on an idle desk: every slot is cleared', () => {
    const idle = yealink(file('yealink', 'idle', `${SAMPLE_MACS.yealink}.cfg`).content);
    for (let n = 1; n <= 4; n++) assert.equal(idle.get(`linekey.${n}.type`), '0');
    const snom = file('snom', 'idle', `${SAMPLE_MACS.snom}.xml`).content;
    assert.equal((snom.match(/<fkey /g) ?? []).length, 12);
    assert.ok(!/>(?:speed|blf|dtmf)/.test(snom));
  });
});

describe('occupied keys land on the vendor key types', () => {
  it('Yealink: 13 speed dial (logout), 16 BLF, 11 DTMF', () => {
    const s = yealink(file('yealink', 'occupied', `${SAMPLE_MACS.yealink}.cfg`).content);
    assert.deepEqual([s.get('linekey.1.type'), s.get('linekey.1.value'), s.get('linekey.1.label')], ['13', '*77*5*', 'Logout']);
    assert.deepEqual([s.get('linekey.2.type'), s.get('linekey.2.value')], ['16', '102']);
    assert.deepEqual([s.get('linekey.4.type'), s.get('linekey.4.value')], ['11', '*1']);
    assert.equal(s.get('linekey.5.type'), undefined, 'a T33G has 4 keys');
  });
  it('Grandstream: line-VPK modes for VPK 1-6, dynamic modes after', () => {
    const x = checkXml(file('grandstream', 'occupied', `cfg${SAMPLE_MACS.grandstream}.xml`).content);
    assert.deepEqual([x.text.get('P1363'), x.text.get('P1466'), x.text.get('P1465')], ['10', '*77*5*', 'Logout']);
    assert.deepEqual([x.text.get('P1365'), x.text.get('P1468')], ['11', '102']);
    assert.deepEqual([x.text.get('P1371'), x.text.get('P1474'), x.text.get('P1473')], ['11', '105', 'Ops &amp; Support'], 'raw XML text of VPK 5');
    assert.equal(x.text.get('P23800'), '-1', 'VPK 7 is an empty dynamic VPK');
  });
  it('Polycom: BLF through the attendant list, the rest as enhanced feature keys', () => {
    const phone = file('polycom', 'occupied', `${SAMPLE_MACS.polycom}-phone.cfg`).content;
    assert.match(phone, /lineKey\.1\.category="EFK"\s+lineKey\.1\.index="1"/);
    assert.match(phone, /efk\.efklist\.1\.action\.string="\*77\*5\*\$Tinvite\$"/);
    assert.match(phone, /lineKey\.2\.category="BLF"\s+lineKey\.2\.index="1"/);
    assert.match(phone, /attendant\.resourceList\.1\.address="102@pbx\.example\.com"/);
    assert.match(phone, /efk\.efklist\.3\.action\.string="\*1\$Tdtmf\$"/);
    const master = file('polycom', 'occupied', `${SAMPLE_MACS.polycom}.cfg`).content;
    assert.match(master, new RegExp(`CONFIG_FILES="${SAMPLE_MACS.polycom}-phone\\.cfg"`));
  });
  it('Snom: speed, blf <sip:...>, dtmf, line', () => {
    const content = file('snom', 'occupied', `${SAMPLE_MACS.snom}.xml`).content;
    assert.match(content, /<fkey idx="0" context="1" label="Logout" perm="">speed \*77\*5\*<\/fkey>/);
    assert.match(content, /<fkey idx="1" context="1" label="Anna" perm="">blf &lt;sip:102@pbx\.example\.com&gt;<\/fkey>/);
    assert.match(content, /<fkey idx="5" [^>]*>line<\/fkey>/);
  });
  it('Fanvil: header, modules, memory keys with /f and /ba, CRLF, end marker', () => {
    const content = file('fanvil', 'occupied', `${SAMPLE_MACS.fanvil}.cfg`).content;
    assert.ok(content.startsWith('<<VOIP CONFIG FILE>>Version:2.0000000000\r\n'));
    assert.ok(content.trimEnd().endsWith('<<END OF FILE>>'));
    assert.ok(!/[^\r]\n/.test(content), 'CRLF line ends only');
    const s = fanvil(content);
    assert.equal(s.get('SIP1 Register Pswd'), PASSWORD_PLACEHOLDER);
    assert.equal(s.get('SIP1 Register Addr'), 'edge.hotdesk.example');
    assert.deepEqual([s.get('Fkey1 Type'), s.get('Fkey1 Value')], ['1', '*77*5*@1/f']);
    assert.deepEqual([s.get('Fkey2 Type'), s.get('Fkey2 Value')], ['1', '102@1/ba']);
    assert.deepEqual([s.get('Fkey4 Type'), s.get('Fkey4 Value')], ['4', '*1']);
    assert.ok(content.includes('<SIP CONFIG MODULE>') && content.includes('<DSSKEY CONFIG MODULE>'));
  });
});

describe('server settings', () => {
  const withTransport = (transport: SipTransport) => (input: ProvisioningInput) => {
    input.server.transport = transport;
    input.server.sipPort = 5061;
  };
  it('TLS maps to each vendor value', () => {
    assert.equal(yealink(file('yealink', 'occupied', `${SAMPLE_MACS.yealink}.cfg`, withTransport('tls')).content).get('account.1.sip_server.1.transport_type'), '2');
    assert.equal(checkXml(file('grandstream', 'occupied', `cfg${SAMPLE_MACS.grandstream}.xml`, withTransport('tls')).content).text.get('P130'), '2');
    assert.match(file('polycom', 'occupied', `${SAMPLE_MACS.polycom}-phone.cfg`, withTransport('tls')).content, /voIpProt\.server\.1\.transport="TLS"/);
    assert.match(file('snom', 'occupied', `${SAMPLE_MACS.snom}.xml`, withTransport('tls')).content, /<user_host idx="1" perm="">edge\.hotdesk\.example:5061;transport=tls<\/user_host>/);
    assert.equal(fanvil(file('fanvil', 'occupied', `${SAMPLE_MACS.fanvil}.cfg`, withTransport('tcp')).content).get('SIP1 Transport'), '1');
  });
  it('outbound proxy set when occupied (fixture), cleared when idle', () => {
    const occupied = yealink(file('yealink', 'occupied', `${SAMPLE_MACS.yealink}.cfg`).content);
    assert.deepEqual([occupied.get('account.1.outbound_proxy_enable'), occupied.get('account.1.outbound_host'), occupied.get('account.1.outbound_port')], ['1', 'sbc.example.com', '5070']);
    const idle = yealink(file('yealink', 'idle', `${SAMPLE_MACS.yealink}.cfg`).content);
    assert.deepEqual([idle.get('account.1.outbound_proxy_enable'), idle.get('account.1.outbound_host')], ['0', '%NULL%']);
    assert.equal(checkXml(file('grandstream', 'occupied', `cfg${SAMPLE_MACS.grandstream}.xml`).content).text.get('P48'), 'sbc.example.com:5070');
  });
  it('a line break in admin text cannot inject a setting into a line-oriented file', () => {
    const inject = (input: ProvisioningInput) => { input.identity.displayName = 'Evil\nlinekey.1.type = 16\r\nSIP1 Register Addr :evil'; };
    const y = file('yealink', 'occupied', `${SAMPLE_MACS.yealink}.cfg`, inject).content;
    assert.equal(yealink(y).get('linekey.1.type'), '13');
    const f = file('fanvil', 'occupied', `${SAMPLE_MACS.fanvil}.cfg`, inject).content;
    assert.equal(fanvil(f).get('SIP1 Register Addr'), 'edge.hotdesk.example');
  });
  it('rejects a MAC that is not 12 lowercase hex digits', () => {
    const input = sampleInput('yealink', 'idle');
    input.device.mac = '00:15:65:12:34:AB';
    assert.throws(() => renderProvisioning(input), /12 lowercase hex digits/);
  });
});

describe('custom templates', () => {
  const custom = (template: string, contentType?: string) => {
    const input = sampleInput('custom', 'occupied');
    input.customTemplate = { template, contentType };
    return input;
  };
  it('text files are written verbatim: no HTML escaping of "=", "/" or "&"', () => {
    const [out] = renderProvisioning(custom('uri=sip:{{identity.username}}@{{server.sipDomain}};transport=tls name={{identity.displayName}} url={{server.provisioningUrl}}')).files;
    assert.equal(out?.content, 'uri=sip:101@pbx.example.com;transport=tls name=Jürgen Müller & Co <R&D> url=http://edge.hotdesk.example:8080/');
    assert.equal(out?.name, `${SAMPLE_MACS.custom}.cfg`, 'default file name');
  });
  it('XML files get XML escaping, and the placeholder survives', () => {
    const [out] = renderProvisioning(custom('<c><n>{{identity.displayName}}</n><p>{{password}}</p><u a="{{server.sipDomain}};x=1"/></c>', 'application/xml')).files;
    assert.equal(out?.content, `<c><n>Jürgen Müller &amp; Co &lt;R&amp;D&gt;</n><p>${PASSWORD_PLACEHOLDER}</p><u a="pbx.example.com;x=1"/></c>`);
    checkXml(out!.content);
  });
  it('keys carry a 1-based index and type flags', () => {
    const [out] = renderProvisioning(custom('{{#keys}}{{#isBlf}}{{index}}:{{value}} {{/isBlf}}{{/keys}}')).files;
    assert.equal(out?.content, '2:102 5:105 ');
  });
  const broken: [string, string, RegExp][] = [
    ['unclosed section', '{{#keys}}key', /does not render: Unclosed section "keys"/],
    ['unclosed tag', 'a={{identity.username', /does not render: Unclosed tag/],
    ['mismatched section', '{{#keys}}{{/identity}}', /does not render: Unclosed section "keys"/],
    ['a placeholder of its own', 'x={{{hotdesk}}}{{=<% %>=}}{{hotdesk:secret:pin}}', /unknown placeholder/],
  ];
  for (const [name, template, message] of broken) {
    it(`a template error is a clear ProvisioningTemplateError: ${name}`, () => {
      assert.throws(() => renderProvisioning(custom(template)), (err: unknown) => err instanceof ProvisioningTemplateError && message.test(err.message) && err.message.includes(SAMPLE_MACS.custom));
    });
  }
  it('a custom device without a template is an error', () => {
    const input = sampleInput('custom', 'idle');
    delete input.customTemplate;
    assert.throws(() => renderProvisioning(input), (err: unknown) => err instanceof ProvisioningTemplateError && /has no template/.test(err.message));
  });
});

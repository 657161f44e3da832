import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderProvisioning } from '../../src/provisioning/index.ts';
import type { ProvisioningInput } from '../../src/provisioning/model.ts';
import {
  PASSWORD_PLACEHOLDER,
  PlaceholderError,
  fillPlaceholders,
  placeholdersIn,
} from '../../src/provisioning/placeholders.ts';
import { ALL_VENDORS, KINDS, sampleInput } from './fixtures.ts';

const PASSWORD = 'S3cr3t-Pa55-q9Zx';
const PIN = '918273';

/**
 * A careless mapping might spread a Secret onto the input objects. Renderers must read only the
 * fields they know, so these never reach a file, including through a custom template that asks for them.
 */
function inputCarryingSecrets(vendor: (typeof ALL_VENDORS)[number], kind: 'idle' | 'occupied'): ProvisioningInput {
  const base = sampleInput(vendor, kind);
  const leaky = {
    ...base,
    password: PASSWORD,
    pin: PIN,
    identity: { ...base.identity, password: PASSWORD, pin: PIN, secret: { password: PASSWORD, pin: PIN } },
    device: { ...base.device, password: PASSWORD },
    server: { ...base.server, password: PASSWORD },
  };
  if (vendor === 'custom') {
    leaky.customTemplate = {
      template: [
        'a={{password}}',
        'b={{identity.password}} {{identity.pin}} {{identity.secret.password}} {{pin}}',
        'c={{device.password}} {{server.password}} {{secret.password}} {{secrets.password}}',
        '{{#identity}}d={{password}} {{pin}}{{/identity}}',
      ].join('\n'),
    };
  }
  return leaky as ProvisioningInput;
}

describe('no rendered file carries the password or the PIN, only the placeholder', () => {
  for (const vendor of ALL_VENDORS) {
    for (const kind of KINDS) {
      it(`${vendor} ${kind}`, () => {
        const rendered = renderProvisioning(inputCarryingSecrets(vendor, kind));
        const all = rendered.files.map((f) => f.content).join('\n');
        assert.ok(!all.includes(PASSWORD), 'password leaked');
        assert.ok(!all.includes(PIN), 'PIN leaked');
        assert.ok(all.includes(PASSWORD_PLACEHOLDER), 'the password placeholder is where the password goes');
        for (const file of rendered.files) assert.doesNotThrow(() => placeholdersIn(file.content));
      });
    }
  }
});

describe('fillPlaceholders', () => {
  it('fills every vendor file so the password appears and no placeholder remains', () => {
    for (const vendor of ALL_VENDORS) {
      for (const file of renderProvisioning(sampleInput(vendor, 'occupied')).files) {
        const filled = fillPlaceholders(file.content, { password: PASSWORD }, { contentType: file.contentType });
        assert.ok(!filled.includes('{{hotdesk:'), `${file.name} still has a placeholder`);
        if (placeholdersIn(file.content).length > 0) assert.ok(filled.includes(PASSWORD), `${file.name} lacks the password`);
      }
    }
  });

  const cases: { name: string; content: string; contentType: string; password: string; expected: string }[] = [
    { name: 'XML escapes the five specials', content: `<P34>${PASSWORD_PLACEHOLDER}</P34>`, contentType: 'application/xml; charset=utf-8', password: `a&b<c>"d'`, expected: '<P34>a&amp;b&lt;c&gt;&quot;d&apos;</P34>' },
    { name: 'XML attribute value', content: `<reg reg.1.auth.password="${PASSWORD_PLACEHOLDER}"/>`, contentType: 'text/xml', password: 'x"/><evil/>', expected: '<reg reg.1.auth.password="x&quot;/&gt;&lt;evil/&gt;"/>' },
    { name: 'text is verbatim', content: `account.1.password = ${PASSWORD_PLACEHOLDER}\n`, contentType: 'text/plain', password: 'a&b<c>=%NULL', expected: 'account.1.password = a&b<c>=%NULL\n' },
    { name: 'every occurrence', content: `${PASSWORD_PLACEHOLDER}|${PASSWORD_PLACEHOLDER}`, contentType: 'text/plain', password: 'pw', expected: 'pw|pw' },
    { name: 'a value that looks like a placeholder is not re-expanded', content: PASSWORD_PLACEHOLDER, contentType: 'text/plain', password: '{{hotdesk:secret:other}}', expected: '{{hotdesk:secret:other}}' },
    { name: 'content without placeholders is unchanged', content: 'no secrets {{here}}', contentType: 'text/plain', password: 'pw', expected: 'no secrets {{here}}' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(fillPlaceholders(c.content, { password: c.password }, { contentType: c.contentType }), c.expected);
    });
  }

  const errors: { name: string; content: string; values: Record<string, string>; contentType: string; message: RegExp }[] = [
    { name: 'unknown placeholder', content: 'x={{hotdesk:secret:pin}}', values: { password: 'pw' }, contentType: 'text/plain', message: /unknown placeholder \{\{hotdesk:secret:pin\}\}/ },
    { name: 'malformed placeholder', content: 'x={{hotdesk:secret:password}', values: { password: 'pw' }, contentType: 'text/plain', message: /malformed placeholder/ },
    { name: 'other namespace', content: 'x={{hotdesk:config:password}}', values: { password: 'pw' }, contentType: 'text/plain', message: /malformed placeholder/ },
    { name: 'missing value', content: PASSWORD_PLACEHOLDER, values: {}, contentType: 'text/plain', message: /no value for placeholder/ },
    { name: 'line break in a line-oriented file', content: PASSWORD_PLACEHOLDER, values: { password: 'a\nlinekey.1.type = 16' }, contentType: 'text/plain', message: /line break/ },
  ];
  for (const e of errors) {
    it(`fails loudly: ${e.name}`, () => {
      assert.throws(() => fillPlaceholders(e.content, e.values, { contentType: e.contentType }), (err: unknown) => err instanceof PlaceholderError && e.message.test(err.message));
    });
  }
});

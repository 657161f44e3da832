import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileNamesFor, macFromRequestPath, renderProvisioning, revisionOf } from '../../src/provisioning/index.ts';
import type { RenderedConfig } from '../../src/provisioning/model.ts';
import { ALL_VENDORS, KINDS, SAMPLE_MACS, sampleInput } from './fixtures.ts';

describe('revisionOf', () => {
  const base = renderProvisioning(sampleInput('polycom', 'occupied'));
  it('is short hex and stable across renders and file order', () => {
    const again = renderProvisioning(sampleInput('polycom', 'occupied'));
    assert.match(revisionOf(base), /^[0-9a-f]{16}$/);
    assert.equal(revisionOf(again), revisionOf(base));
    assert.equal(revisionOf({ ...again, files: [...again.files].reverse() }), revisionOf(base));
  });
  const changes: [string, (c: RenderedConfig) => RenderedConfig][] = [
    ['content', (c) => ({ ...c, files: c.files.map((f, i) => (i === 1 ? { ...f, content: f.content.replace('Anna', 'Anne') } : f)) })],
    ['file name', (c) => ({ ...c, files: c.files.map((f, i) => (i === 0 ? { ...f, name: `x${f.name}` } : f)) })],
    ['content type', (c) => ({ ...c, files: c.files.map((f, i) => (i === 0 ? { ...f, contentType: 'text/plain' } : f)) })],
  ];
  for (const [what, change] of changes) {
    it(`changes when the ${what} changes`, () => assert.notEqual(revisionOf(change(base)), revisionOf(base)));
  }
  it('keeps file name and content apart (no ambiguous concatenation)', () => {
    const one: RenderedConfig = { vendor: 'custom', files: [{ name: 'ab', contentType: 't', content: 'c' }] };
    const two: RenderedConfig = { vendor: 'custom', files: [{ name: 'a', contentType: 't', content: 'bc' }] };
    assert.notEqual(revisionOf(one), revisionOf(two));
  });
  it('differs between the idle and occupied form of every vendor', () => {
    for (const vendor of ALL_VENDORS) {
      assert.notEqual(revisionOf(renderProvisioning(sampleInput(vendor, 'idle'))), revisionOf(renderProvisioning(sampleInput(vendor, 'occupied'))), vendor);
    }
  });
});

describe('fileNamesFor', () => {
  for (const vendor of ALL_VENDORS) {
    for (const kind of KINDS) {
      it(`${vendor} ${kind}: names match what the renderer produces`, () => {
        const input = sampleInput(vendor, kind);
        const rendered = renderProvisioning(input).files.map((f) => f.name).sort();
        assert.deepEqual(fileNamesFor(vendor, input.device.mac, input.customTemplate?.fileName).sort(), rendered);
      });
    }
  }
  const requests: [string, string | undefined][] = [
    ['/0015651234ab.cfg', '0015651234ab'],
    ['/provision/0015651234AB.cfg?x=1', '0015651234ab'],
    ['/cfg000b82aabbcc.xml', '000b82aabbcc'],
    ['/0004f2112233-phone.cfg', '0004f2112233'],
    ['/000413445566.xml', '000413445566'],
    ['/y000000000028.cfg', undefined],
    ['/000000000000.cfg', undefined],
    ['/0015651234ab-local.cfg', undefined],
    ['/../etc/passwd', undefined],
  ];
  for (const [path, mac] of requests) {
    it(`GET ${path} names ${mac ?? 'no device'}`, () => assert.equal(macFromRequestPath(path), mac));
  }
  it('every rendered name maps back to its device (except custom names of the admin\'s choosing)', () => {
    for (const vendor of ALL_VENDORS.filter((v) => v !== 'custom')) {
      for (const name of fileNamesFor(vendor, SAMPLE_MACS[vendor])) assert.equal(macFromRequestPath(`/${name}`), SAMPLE_MACS[vendor], name);
    }
  });
});

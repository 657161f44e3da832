import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CRDS, walkSchema, str, obj, KINDS, CATEGORY } from '../../src/api/index.ts';
import { GENERATED_DIRS, generatedFiles } from '../../src/api/manifests.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const REGENERATE = 'stale: run `bash scripts/with-node.sh node scripts/gen-crds.ts` and commit the result';

test('the checked-in CRDs, kustomize bases and chart templates are what src/api generates', () => {
  const files = generatedFiles();
  for (const [path, content] of files) {
    assert.ok(existsSync(join(ROOT, path)), `${path} is missing; ${REGENERATE}`);
    assert.equal(readFileSync(join(ROOT, path), 'utf8'), content, `${path} is ${REGENERATE}`);
  }
  for (const dir of GENERATED_DIRS) {
    for (const f of readdirSync(join(ROOT, dir)).filter((n) => n.endsWith('.yaml'))) {
      assert.ok(files.has(`${dir}/${f}`), `${dir}/${f} is not generated from src/api; delete it`);
    }
  }
});

test('generation is deterministic', () => {
  assert.deepEqual([...generatedFiles()], [...generatedFiles()]);
});

test('there is one CRD per kind, namespaced, in the hotdesk category, with a status subresource', () => {
  assert.deepEqual(CRDS.map((c) => c.spec.names.kind).sort(), Object.values(KINDS).map((k) => k.kind).sort());
  for (const crd of CRDS) {
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names.categories, [CATEGORY]);
    const [version] = crd.spec.versions;
    assert.ok(version);
    assert.deepEqual(version.subresources, { status: {} });
    assert.equal(version.additionalPrinterColumns.at(-1)?.name, 'Age');
  }
});

test('every field of every CRD has a description for kubectl explain', () => {
  for (const crd of CRDS) {
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
    const missing: string[] = [];
    walkSchema(root, (path, s) => {
      // The API server refuses anything but `type` on metadata: it documents metadata itself.
      if (path === 'metadata') return;
      if (!s.description || s.description.trim() === '') missing.push(path || '<root>');
    });
    assert.deepEqual(missing, [], `${crd.metadata.name}: fields without a description`);
  }
});

test('the schema builders refuse a field without a description', () => {
  assert.throws(() => str({ description: '' }), /description/);
  assert.throws(() => obj({ a: str({ description: 'a' }) }, { description: '  ' }), /description/);
});

test('the chart copies install only with crds.enabled and survive helm uninstall with crds.keep', () => {
  for (const crd of CRDS) {
    const text = readFileSync(join(ROOT, 'charts/hotdesk-operator/templates/crds', `${crd.spec.names.plural}.yaml`), 'utf8');
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(lines[0], '{{- if .Values.crds.enabled }}');
    assert.equal(lines.at(-1), '{{- end }}');
    assert.match(text, /\{\{- if \.Values\.crds\.keep \}\}\n {2}annotations:\n {4}helm\.sh\/resource-policy: keep\n {2}\{\{- end \}\}/);
    // With the Helm lines taken out, what remains is the same CRD as crds/.
    const plain = lines.filter((l) => !l.includes('{{') && !l.includes('annotations:') && !l.includes('helm.sh/resource-policy')).join('\n');
    assert.deepEqual(parse(plain), crd);
  }
});

test('the kustomize base lists every CRD', () => {
  const k = parse(readFileSync(join(ROOT, 'config/crd/kustomization.yaml'), 'utf8')) as { resources: string[] };
  assert.deepEqual(k.resources.sort(), CRDS.map((c) => `bases/${c.metadata.name}.yaml`).sort());
});

/**
 * Golden files: the exact idle and occupied file(s) of every vendor, kept in
 * test/golden/provisioning/<vendor>/<idle|occupied>/<file name>.
 *
 * After an intended change to a renderer, regenerate them and review the diff:
 *   UPDATE_GOLDEN=1 bash scripts/with-node.sh node --test test/provisioning/golden.test.ts
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderProvisioning } from '../../src/provisioning/index.ts';
import { ALL_VENDORS, KINDS, sampleInput } from './fixtures.ts';

const GOLDEN_ROOT = join(import.meta.dirname, '..', 'golden', 'provisioning');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

describe('rendered files match the golden files', () => {
  for (const vendor of ALL_VENDORS) {
    for (const kind of KINDS) {
      it(`${vendor} ${kind}`, () => {
        const rendered = renderProvisioning(sampleInput(vendor, kind));
        const dir = join(GOLDEN_ROOT, vendor, kind);
        if (UPDATE) {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          for (const file of rendered.files) writeFileSync(join(dir, file.name), file.content);
        }
        assert.deepEqual(
          readdirSync(dir).sort(),
          rendered.files.map((f) => f.name).sort(),
          'the golden directory holds exactly the files the renderer produces',
        );
        for (const file of rendered.files) {
          assert.equal(file.content, readFileSync(join(dir, file.name), 'utf8'), `${vendor}/${kind}/${file.name} differs from golden`);
        }
      });
    }
  }
});

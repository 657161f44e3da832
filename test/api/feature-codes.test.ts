import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveFeatureCodes, type FeatureCodesInput, type EffectiveFeatureCodes } from '../../src/api/feature-codes.ts';

const cases: [string, FeatureCodesInput, EffectiveFeatureCodes][] = [
  ['no preset means 3cx', {}, { loginWithExtension: { prefix: '*77*', suffix: '*' }, logout: '*77*5*' }],
  ['3cx', { preset: '3cx' }, { loginWithExtension: { prefix: '*77*', suffix: '*' }, logout: '*77*5*' }],
  ['yeastar', { preset: 'yeastar' }, { login: '*93', logout: '*093' }],
  ['custom has nothing of its own', { preset: 'custom', logout: '*12', login: '*11' }, { login: '*11', logout: '*12' }],
  ['an override replaces one code and keeps the rest', { preset: 'yeastar', logout: '*094' }, { login: '*93', logout: '*094' }],
  ['login added to 3cx', { preset: '3cx', login: '*88' }, { login: '*88', loginWithExtension: { prefix: '*77*', suffix: '*' }, logout: '*77*5*' }],
  ['loginWithExtension without suffix', { preset: 'custom', logout: '#9', loginWithExtension: { prefix: '*8' } }, { logout: '#9', loginWithExtension: { prefix: '*8', suffix: '' } }],
];

for (const [name, input, expected] of cases) {
  test(`effective feature codes: ${name}`, () => {
    assert.deepEqual(effectiveFeatureCodes(input), expected);
  });
}

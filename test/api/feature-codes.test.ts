import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveFeatureCodes, featureCodeProblems, type FeatureCodesInput, type EffectiveFeatureCodes } from '../../src/api/feature-codes.ts';

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

const problemCases: { what: string; codes: FeatureCodesInput; emergency: string[]; fields: string[] }[] = [
  { what: '3cx with 911 and 112 is fine', codes: { preset: '3cx' }, emergency: ['911', '112'], fields: [] },
  { what: 'yeastar with 999 is fine', codes: { preset: 'yeastar' }, emergency: ['999'], fields: [] },
  { what: 'login equal to an emergency number', codes: { preset: '3cx', login: '112' }, emergency: ['112'], fields: ['featureCodes.login'] },
  { what: 'login a prefix of an emergency number', codes: { preset: '3cx', login: '11' }, emergency: ['911', '112'], fields: ['featureCodes.login'] },
  { what: 'an emergency number a prefix of the logout code', codes: { preset: 'custom', login: '*5', logout: '9110' }, emergency: ['911'], fields: ['featureCodes.logout'] },
  { what: 'a digit-only extension prefix that reads 112 as a login', codes: { preset: 'custom', logout: '*9', loginWithExtension: { prefix: '11' } }, emergency: ['112'], fields: ['featureCodes.loginWithExtension.prefix'] },
  { what: 'codes that only share digits with a number are fine', codes: { preset: 'custom', login: '*112', logout: '#112' }, emergency: ['112'], fields: [] },
  { what: 'login and logout overlapping', codes: { preset: 'yeastar', logout: '*930' }, emergency: ['911'], fields: ['featureCodes.logout'] },
  { what: 'the 3CX *7 pitfall', codes: { preset: '3cx', login: '*7' }, emergency: ['911'], fields: ['featureCodes.logout', 'featureCodes.login'] },
  { what: '3CX logout as a complete *77*EXT* dial is fine', codes: { preset: '3cx' }, emergency: ['911'], fields: [] },
  { what: 'custom without codes', codes: { preset: 'custom' }, emergency: ['911'], fields: ['featureCodes'] },
];

for (const { what, codes, emergency, fields } of problemCases) {
  test(`feature code problems: ${what}`, () => {
    const problems = featureCodeProblems(codes, emergency);
    assert.deepEqual(problems.map((p) => p.field), fields, JSON.stringify(problems));
    for (const p of problems) assert.match(p.message, /^featureCodes/);
  });
}

test('an emergency clash names the code, the number and the fix', () => {
  const [problem] = featureCodeProblems({ preset: '3cx', login: '112' }, ['911', '112']);
  assert.equal(problem?.message, 'featureCodes.login "112" clashes with emergency number 112 (equal, or one is a prefix of the other): a phone dialling 112 could reach the feature code instead of the emergency service; change featureCodes.login');
});

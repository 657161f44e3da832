/**
 * Feature codes: what a presets stands for, how a pool's explicit codes override it, and the CEL
 * rules that refuse ambiguous codes when the pool is applied (3CX's "no other dial code may start
 * with *7" pitfall), all from one table so the API server and the edge agree.
 */
import { celString, type Rule } from './schema.ts';

export const FEATURE_CODE_PRESET_NAMES = ['3cx', 'yeastar', 'custom'] as const;
export type FeatureCodePresetName = (typeof FEATURE_CODE_PRESET_NAMES)[number];

/** Login by dialling the extension inside the code: prefix + extension + suffix, e.g. *77*101*. */
export interface LoginWithExtension {
  prefix: string;
  suffix: string;
}

/** The codes the edge answers; a code left out is not offered. */
export interface EffectiveFeatureCodes {
  /** Plain login code; the IVR then asks for the extension and the PIN (Yeastar's Guest In). */
  login?: string;
  logout?: string;
  loginWithExtension?: LoginWithExtension;
}

export const FEATURE_CODE_PRESETS: Record<FeatureCodePresetName, EffectiveFeatureCodes> = {
  '3cx': { loginWithExtension: { prefix: '*77*', suffix: '*' }, logout: '*77*5*' },
  yeastar: { login: '*93', logout: '*093' },
  custom: {},
};

/** Only digits, * and # can be dialled on every keypad. */
export const DIAL_CODE_PATTERN = '^[0-9*#]+$';
export const DIAL_CODE_MAX_LENGTH = 16;

export interface FeatureCodesInput {
  preset?: FeatureCodePresetName;
  login?: string;
  logout?: string;
  loginWithExtension?: { prefix: string; suffix?: string };
}

/** The preset's codes with the pool's own codes taking precedence. */
export function effectiveFeatureCodes(fc: FeatureCodesInput): EffectiveFeatureCodes {
  const preset = FEATURE_CODE_PRESETS[fc.preset ?? '3cx'];
  const out: EffectiveFeatureCodes = {};
  const login = fc.login ?? preset.login;
  const logout = fc.logout ?? preset.logout;
  const withExt = fc.loginWithExtension ? { prefix: fc.loginWithExtension.prefix, suffix: fc.loginWithExtension.suffix ?? '' } : preset.loginWithExtension;
  if (login) out.login = login;
  if (logout) out.logout = logout;
  if (withExt) out.loginWithExtension = withExt;
  return out;
}

// ---- the rules, as plain code: for a pool that predates a rule, and for tests ----

export interface FeatureCodeProblem {
  /** The field to change, as the API server's message names it. */
  field: string;
  message: string;
}

/** Whether one dial string is a prefix of the other (equal included): then one of them can never be dialled. */
function overlaps(a: string, b: string): boolean {
  return a !== '' && b !== '' && (a.startsWith(b) || b.startsWith(a));
}

/** A fixed code that is a complete dial of the login-with-extension code (3CX's *77*5*). */
function isCompleteDial(code: string, ext: LoginWithExtension): boolean {
  if (!code.startsWith(ext.prefix) || !code.endsWith(ext.suffix) || code.length <= ext.prefix.length + ext.suffix.length) return false;
  return /^[0-9]+$/.test(code.slice(ext.prefix.length, code.length - ext.suffix.length));
}

/**
 * Every reason the pool's codes cannot all be dialled, the same as the CEL rules below refuse
 * (the envtest suite checks that both agree). Emergency numbers count as dial codes too: an idle
 * phone dialling 112 must reach the emergency service, never a login prompt.
 */
export function featureCodeProblems(fc: FeatureCodesInput, emergencyNumbers: readonly string[]): FeatureCodeProblem[] {
  const codes = effectiveFeatureCodes(fc);
  const problems: FeatureCodeProblem[] = [];
  if ((fc.preset ?? '3cx') === 'custom' && !(fc.logout && (fc.login || fc.loginWithExtension))) {
    problems.push({ field: 'featureCodes', message: 'featureCodes: preset custom needs featureCodes.logout and featureCodes.login or featureCodes.loginWithExtension' });
  }
  if (codes.login && codes.logout && overlaps(codes.login, codes.logout)) {
    problems.push({ field: 'featureCodes.logout', message: `featureCodes: login "${codes.login}" and logout "${codes.logout}" overlap (one is a prefix of the other, so the longer one can never be dialled); change one of them` });
  }
  const ext = codes.loginWithExtension;
  for (const name of ['login', 'logout'] as const) {
    const code = codes[name];
    if (!ext || !code) continue;
    if (ext.prefix.startsWith(code) || (code.startsWith(ext.prefix) && !isCompleteDial(code, ext))) {
      problems.push({ field: `featureCodes.${name}`, message: `featureCodes: ${name} "${code}" overlaps loginWithExtension "${ext.prefix}" + extension + "${ext.suffix}"; no code may be a prefix of another (the 3CX *7 pitfall); change ${name} or loginWithExtension.prefix` });
    }
  }
  for (const { field, code } of dialledCodes(codes)) {
    const clash = emergencyNumbers.find((n) => overlaps(code, n));
    if (clash !== undefined) problems.push({ field, message: emergencyClashMessage(field, code, clash) });
  }
  return problems;
}

function dialledCodes(codes: EffectiveFeatureCodes): { field: string; code: string }[] {
  return [
    { field: 'featureCodes.login', code: codes.login ?? '' },
    { field: 'featureCodes.logout', code: codes.logout ?? '' },
    { field: 'featureCodes.loginWithExtension.prefix', code: codes.loginWithExtension?.prefix ?? '' },
  ].filter((c) => c.code !== '');
}

function emergencyClashMessage(field: string, code: string, number: string): string {
  return `${field} "${code}" clashes with emergency number ${number} (equal, or one is a prefix of the other): a phone dialling ${number} could reach the feature code instead of the emergency service; change ${field}`;
}

// ---- CEL: the same rules for the API server ----

/** The effective codes as CEL expressions, with `root` the featureCodes object (self, or self.featureCodes). */
function celCodes(root: string) {
  /** The preset's value for one code, or '' when the preset has none. */
  const presetValue = (pick: (p: EffectiveFeatureCodes) => string | undefined): string => {
    let expr = "''";
    for (const name of [...FEATURE_CODE_PRESET_NAMES].reverse()) {
      const value = pick(FEATURE_CODE_PRESETS[name]);
      if (value) expr = `(${root}.preset == ${celString(name)} ? ${celString(value)} : ${expr})`;
    }
    return expr;
  };
  return {
    login: `(has(${root}.login) ? ${root}.login : ${presetValue((p) => p.login)})`,
    logout: `(has(${root}.logout) ? ${root}.logout : ${presetValue((p) => p.logout)})`,
    extPrefix: `(has(${root}.loginWithExtension) ? ${root}.loginWithExtension.prefix : ${presetValue((p) => p.loginWithExtension?.prefix)})`,
    extSuffix: `(has(${root}.loginWithExtension) ? (has(${root}.loginWithExtension.suffix) ? ${root}.loginWithExtension.suffix : '') : ${presetValue((p) => p.loginWithExtension?.suffix)})`,
  };
}

const CODES = celCodes('self');

function quoted(expr: string): string {
  return `'"' + ${expr} + '"'`;
}

/**
 * A fixed code may begin with the login-with-extension prefix only when it is a complete dial of
 * it (3CX's logout *77*5* is *77* + 5 + *): that extension is then reserved, and nothing is ambiguous.
 * Any other overlap means one code can never be dialled.
 */
function fixedVersusExtension(code: string): string {
  const p = CODES.extPrefix;
  const s = CODES.extSuffix;
  const completeDial = `(${code}.endsWith(${s}) && ${code}.size() > ${p}.size() + ${s}.size() && ${code}.substring(${p}.size(), ${code}.size() - ${s}.size()).matches('^[0-9]+$'))`;
  return `${p} == '' || ${code} == '' || (!${p}.startsWith(${code}) && (!${code}.startsWith(${p}) || ${completeDial}))`;
}

/** Evaluated with self = spec.featureCodes. */
export const FEATURE_CODE_RULES: Rule[] = [
  {
    rule: `self.preset != 'custom' || (has(self.logout) && (has(self.login) || has(self.loginWithExtension)))`,
    message: 'featureCodes: preset custom needs featureCodes.logout and featureCodes.login or featureCodes.loginWithExtension',
  },
  {
    rule: `${CODES.login} == '' || ${CODES.logout} == '' || (!${CODES.login}.startsWith(${CODES.logout}) && !${CODES.logout}.startsWith(${CODES.login}))`,
    message: 'featureCodes: login and logout must not be a prefix of one another; change one of them',
    messageExpression: `'featureCodes: login ' + ${quoted(CODES.login)} + ' and logout ' + ${quoted(CODES.logout)} + ' overlap (one is a prefix of the other, so the longer one can never be dialled); change one of them'`,
    fieldPath: '.logout',
  },
  ...(['login', 'logout'] as const).map((name): Rule => ({
    rule: fixedVersusExtension(CODES[name]),
    message: `featureCodes: ${name} overlaps featureCodes.loginWithExtension.prefix; a code may start with the prefix only as a complete dial (prefix + digits + suffix)`,
    messageExpression: `'featureCodes: ${name} ' + ${quoted(CODES[name])} + ' overlaps loginWithExtension ' + ${quoted(CODES.extPrefix)} + ' + extension + ' + ${quoted(CODES.extSuffix)} + '; no code may be a prefix of another (the 3CX *7 pitfall); change ${name} or loginWithExtension.prefix'`,
    fieldPath: `.${name}`,
  })),
];

const SPEC_CODES = celCodes('self.featureCodes');

/**
 * Evaluated with self = spec, the one place that sees both the codes and the emergency numbers:
 * no code may equal an emergency number or be a prefix of one (or the other way round).
 */
export const EMERGENCY_CLASH_RULES: Rule[] = [
  { field: 'featureCodes.login', code: SPEC_CODES.login },
  { field: 'featureCodes.logout', code: SPEC_CODES.logout },
  { field: 'featureCodes.loginWithExtension.prefix', code: SPEC_CODES.extPrefix },
].map(({ field, code }): Rule => {
  const clashes = (n: string) => `(${n}.startsWith(${code}) || ${code}.startsWith(${n}))`;
  const clash = `self.emergency.numbers.filter(n, ${clashes('n')})[0]`;
  return {
    rule: `${code} == '' || !self.emergency.numbers.exists(n, ${clashes('n')})`,
    message: `${field} must not equal an emergency number or be a prefix of one (or start with one): a phone dialling the emergency number could reach the feature code instead; change ${field}`,
    messageExpression: `'${field} ' + ${quoted(code)} + ' clashes with emergency number ' + ${clash} + ' (equal, or one is a prefix of the other): a phone dialling the emergency number could reach the feature code instead of the emergency service; change ${field}'`,
    fieldPath: `.${field}`,
  };
});

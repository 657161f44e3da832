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

// ---- CEL, evaluated with self = spec.featureCodes ----

/** The preset's value for one code, or '' when the preset has none. */
function presetValue(pick: (p: EffectiveFeatureCodes) => string | undefined): string {
  let expr = "''";
  for (const name of [...FEATURE_CODE_PRESET_NAMES].reverse()) {
    const value = pick(FEATURE_CODE_PRESETS[name]);
    if (value) expr = `(self.preset == ${celString(name)} ? ${celString(value)} : ${expr})`;
  }
  return expr;
}

const LOGIN = `(has(self.login) ? self.login : ${presetValue((p) => p.login)})`;
const LOGOUT = `(has(self.logout) ? self.logout : ${presetValue((p) => p.logout)})`;
const EXT_PREFIX = `(has(self.loginWithExtension) ? self.loginWithExtension.prefix : ${presetValue((p) => p.loginWithExtension?.prefix)})`;
const EXT_SUFFIX = `(has(self.loginWithExtension) ? (has(self.loginWithExtension.suffix) ? self.loginWithExtension.suffix : '') : ${presetValue((p) => p.loginWithExtension?.suffix)})`;

const FIXED = [
  { name: 'login', expr: LOGIN },
  { name: 'logout', expr: LOGOUT },
] as const;

function quoted(expr: string): string {
  return `'"' + ${expr} + '"'`;
}

/**
 * A fixed code may begin with the login-with-extension prefix only when it is a complete dial of
 * it (3CX's logout *77*5* is *77* + 5 + *): that extension is then reserved, and nothing is ambiguous.
 * Any other overlap means one code can never be dialled.
 */
function fixedVersusExtension(code: string): string {
  const p = EXT_PREFIX;
  const s = EXT_SUFFIX;
  const completeDial = `(${code}.endsWith(${s}) && ${code}.size() > ${p}.size() + ${s}.size() && ${code}.substring(${p}.size(), ${code}.size() - ${s}.size()).matches('^[0-9]+$'))`;
  return `${p} == '' || ${code} == '' || (!${p}.startsWith(${code}) && (!${code}.startsWith(${p}) || ${completeDial}))`;
}

export const FEATURE_CODE_RULES: Rule[] = [
  {
    rule: `self.preset != 'custom' || (has(self.logout) && (has(self.login) || has(self.loginWithExtension)))`,
    message: 'featureCodes: preset custom needs featureCodes.logout and featureCodes.login or featureCodes.loginWithExtension',
  },
  {
    rule: `${LOGIN} == '' || ${LOGOUT} == '' || (!${LOGIN}.startsWith(${LOGOUT}) && !${LOGOUT}.startsWith(${LOGIN}))`,
    message: 'featureCodes: login and logout must not be a prefix of one another; change one of them',
    messageExpression: `'featureCodes: login ' + ${quoted(LOGIN)} + ' and logout ' + ${quoted(LOGOUT)} + ' overlap (one is a prefix of the other, so the longer one can never be dialled); change one of them'`,
    fieldPath: '.logout',
  },
  ...FIXED.map(({ name, expr }): Rule => ({
    rule: fixedVersusExtension(expr),
    message: `featureCodes: ${name} overlaps featureCodes.loginWithExtension.prefix; a code may start with the prefix only as a complete dial (prefix + digits + suffix)`,
    messageExpression: `'featureCodes: ${name} ' + ${quoted(expr)} + ' overlaps loginWithExtension ' + ${quoted(EXT_PREFIX)} + ' + extension + ' + ${quoted(EXT_SUFFIX)} + '; no code may be a prefix of another (the 3CX *7 pitfall); change ${name} or loginWithExtension.prefix'`,
    fieldPath: `.${name}`,
  })),
];

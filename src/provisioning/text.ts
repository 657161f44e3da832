/**
 * Helpers for line-oriented formats (Yealink `key = value`, Fanvil `Key :value`): a value can never
 * span lines there, so admin-typed text is folded onto one line instead of injecting a new setting.
 */
export function singleLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

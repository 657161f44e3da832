const SEPARATORS = /[\s:.\-]/g;
const TWELVE_HEX = /^[0-9a-f]{12}$/;

/**
 * The twelve lower-case hex digits of a MAC address written in any common notation
 * (00:15:65:AA:BB:CC, 00-15-65-aa-bb-cc, 0015.65aa.bbcc, 001565aabbcc), or undefined if it is none.
 */
export function normalizeMac(text: string): string | undefined {
  const digits = text.replace(SEPARATORS, '').toLowerCase();
  return TWELVE_HEX.test(digits) ? digits : undefined;
}

/** A MAC as people read it on a phone's label: 00:15:65:aa:bb:cc. Anything else is shown as written. */
export function displayMac(text: string): string {
  const digits = normalizeMac(text);
  return digits ? digits.match(/../g)!.join(':') : text;
}

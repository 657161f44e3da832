/**
 * Splits an alert expression into what it measures, so a test can check that the measured series
 * exist (with the labels the annotations print) even while the alert itself stays quiet.
 */

export interface AlertBranch {
  /** The branch as written, without its outer parentheses. */
  text: string;
  /** The branch without its final threshold (`> 5`, `== 0`): what the alert compares. */
  measured: string;
  /** Whether the branch fires on missing series (absent()): nothing to measure while all is well. */
  onAbsence: boolean;
}

/** Top-level `or` branches of a PromQL expression, each with its threshold split off. */
export function alertBranches(expr: string): AlertBranch[] {
  return splitTopLevel(expr.trim(), 'or').map((raw) => {
    const text = unwrap(raw.trim());
    const threshold = /\s*(?:==|!=|>=|<=|>|<)\s*-?[\d.]+\s*$/.exec(text);
    const measured = threshold && depthAt(text, threshold.index) === 0 ? text.slice(0, threshold.index).trim() : text;
    return { text, measured, onAbsence: /\babsent\s*\(/.test(text) };
  });
}

/** `$labels.x` references in annotation templates: what the alert's series must carry. */
export function labelsUsedIn(templates: readonly string[]): string[] {
  const names = new Set<string>();
  for (const t of templates) for (const m of t.matchAll(/\$labels\.([a-zA-Z_]\w*)/g)) names.add(m[1]!);
  return [...names].sort();
}

function splitTopLevel(expr: string, keyword: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if (ch === ')' || ch === '}' || ch === ']') depth--;
    else if (depth === 0 && expr.startsWith(keyword, i) && /\s/.test(expr[i - 1] ?? ' ') && /[\s(]/.test(expr[i + keyword.length] ?? ' ')) {
      parts.push(expr.slice(start, i));
      start = i + keyword.length;
    }
  }
  parts.push(expr.slice(start));
  return parts;
}

function depthAt(expr: string, index: number): number {
  let depth = 0;
  for (let i = 0; i < index; i++) {
    if (expr[i] === '(' || expr[i] === '{' || expr[i] === '[') depth++;
    else if (expr[i] === ')' || expr[i] === '}' || expr[i] === ']') depth--;
  }
  return depth;
}

/** Drops parentheses that enclose the whole expression. */
function unwrap(expr: string): string {
  let text = expr;
  while (text.startsWith('(') && text.endsWith(')') && closingParen(text, 0) === text.length - 1) text = text.slice(1, -1).trim();
  return text;
}

function closingParen(expr: string, open: number): number {
  let depth = 0;
  for (let i = open; i < expr.length; i++) {
    if (expr[i] === '(') depth++;
    else if (expr[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * A small XML well-formedness checker for the tests: one root element, balanced and properly nested
 * tags, quoted and unique attributes, only predefined or numeric entity references, no stray "<" or
 * "&". It returns the element and attribute names met, so tests can assert vendor vocabulary.
 */
export interface XmlSummary {
  root: string;
  elements: Set<string>;
  attributes: Set<string>;
  /** Text content of every element, by element name (last one wins). */
  text: Map<string, string>;
}

const NAME = /^[A-Za-z_][\w.\-:]*/;

export function checkXml(source: string): XmlSummary {
  let i = 0;
  const stack: string[] = [];
  const summary: XmlSummary = { root: '', elements: new Set(), attributes: new Set(), text: new Map() };
  let textBuffer = '';
  const fail = (why: string): never => {
    const line = source.slice(0, i).split('\n').length;
    throw new Error(`not well-formed XML (line ${line}): ${why}`);
  };
  const checkText = (text: string) => {
    if (text.includes('<')) fail('stray "<"');
    for (const m of text.matchAll(/&([^;]*);?/g)) {
      if (!/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(m[1] ?? '') || !m[0].endsWith(';')) fail(`bad entity ${m[0]}`);
    }
  };

  if (source.startsWith('<?xml')) {
    const end = source.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    const text = source.slice(i, lt < 0 ? source.length : lt);
    if (stack.length === 0 && text.trim() !== '') fail(`text outside the root: ${JSON.stringify(text.trim().slice(0, 20))}`);
    checkText(text);
    textBuffer += text;
    if (lt < 0) break;
    i = lt;
    if (source.startsWith('<!--', i)) {
      const end = source.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (source.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
      i = end + 3;
      continue;
    }
    if (source.startsWith('</', i)) {
      const name = NAME.exec(source.slice(i + 2))?.[0] ?? fail('bad closing tag');
      const open = stack.pop();
      if (open !== name) fail(`</${name}> closes <${open ?? 'nothing'}>`);
      summary.text.set(name, textBuffer);
      textBuffer = '';
      i = source.indexOf('>', i) + 1;
      if (i === 0) fail('unterminated closing tag');
      continue;
    }
    const name = NAME.exec(source.slice(i + 1))?.[0] ?? fail('bad tag');
    if (stack.length === 0) {
      if (summary.root) fail(`second root element <${name}>`);
      summary.root = name;
    }
    summary.elements.add(name);
    i += 1 + name.length;
    const seen = new Set<string>();
    for (;;) {
      const rest = source.slice(i);
      const ws = /^\s*/.exec(rest)?.[0].length ?? 0;
      i += ws;
      if (source.startsWith('/>', i)) { i += 2; break; }
      if (source[i] === '>') { i += 1; stack.push(name); break; }
      if (ws === 0) fail(`attributes of <${name}> must be separated by whitespace`);
      const attr = NAME.exec(source.slice(i))?.[0] ?? fail(`bad attribute in <${name}>`);
      if (seen.has(attr)) fail(`duplicate attribute ${attr} in <${name}>`);
      seen.add(attr);
      summary.attributes.add(attr);
      i += attr.length;
      const quote = /^\s*=\s*(["'])/.exec(source.slice(i));
      if (!quote) fail(`attribute ${attr} without a quoted value`);
      i += quote![0].length;
      const end = source.indexOf(quote![1]!, i);
      if (end < 0) fail(`unterminated value of ${attr}`);
      checkText(source.slice(i, end));
      i = end + 1;
    }
    textBuffer = '';
  }
  if (stack.length > 0) fail(`unclosed <${stack.join('>, <')}>`);
  if (!summary.root) fail('no root element');
  return summary;
}

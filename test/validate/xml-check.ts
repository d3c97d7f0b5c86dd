/**
 * A minimal XML well-formedness checker for the tests (no XML parser is installed): declaration,
 * balanced and properly nested elements, quoted attributes without duplicates, only the five
 * predefined entities and character references, no stray '<' or '&' in text.
 * Returns the element names in document order; throws an Error naming the offset otherwise.
 */
export function checkXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  let i = 0;
  const text = (s: string, at: number): void => {
    const bad = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(s);
    if (bad) throw new Error(`bare '&' at ${at + bad.index}`);
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated declaration');
    i = end + 2;
  }
  let rootSeen = false;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const chunk = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (stack.length === 0 && chunk.trim() !== '') throw new Error(`text outside the root element at ${i}`);
    if (chunk.includes('>')) throw new Error(`stray '>' at ${i + chunk.indexOf('>')}`);
    text(chunk, i);
    if (lt < 0) break;
    const gt = xml.indexOf('>', lt);
    if (gt < 0) throw new Error(`unterminated tag at ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    if (tag.includes('<')) throw new Error(`'<' inside a tag at ${lt}`);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}> at ${lt}`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*\s*=\s*"[^"<]*")*)\s*$/.exec(body);
      if (!m) throw new Error(`malformed tag <${tag.slice(0, 40)}> at ${lt}`);
      const attrs = [...m[2].matchAll(/([A-Za-z_][\w.-]*)\s*=\s*"([^"]*)"/g)];
      const seen = new Set<string>();
      for (const a of attrs) {
        if (seen.has(a[1])) throw new Error(`duplicate attribute ${a[1]} at ${lt}`);
        seen.add(a[1]);
        text(a[2], lt);
      }
      if (stack.length === 0) {
        if (rootSeen) throw new Error(`second root element at ${lt}`);
        rootSeen = true;
      }
      names.push(m[1]);
      if (!selfClosing) stack.push(m[1]);
    }
    i = gt + 1;
  }
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  if (!rootSeen) throw new Error('no root element');
  return names;
}

/** A minimal XML reader for XSD files: elements, attributes, no text content (XSDs carry none we need). */
export interface XmlElement {
  /** Qualified name as written, e.g. `xs:element`. */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/** Parses a document and returns its root element; throws on malformed markup. */
export function parseXml(text: string): XmlElement {
  const stack: { name: string; attributes: Record<string, string>; children: XmlElement[] }[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      i = text.indexOf('-->', lt) + 3;
      if (i < 3) throw new Error('unterminated comment');
      continue;
    }
    if (text.startsWith('<?', lt)) {
      i = text.indexOf('?>', lt) + 2;
      continue;
    }
    if (text.startsWith('<!DOCTYPE', lt)) {
      const bracket = text.indexOf('[', lt);
      const close = text.indexOf('>', lt);
      i = bracket >= 0 && bracket < close ? text.indexOf(']>', bracket) + 2 : close + 1;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      i = text.indexOf(']]>', lt) + 3;
      continue;
    }
    const gt = findTagEnd(text, lt);
    const body = text.slice(lt + 1, gt);
    i = gt + 1;
    if (body.startsWith('/')) {
      const name = body.slice(1).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`mismatched </${name}>`);
      if (stack.length === 0) root = open;
      continue;
    }
    const selfClosing = body.endsWith('/');
    const inner = selfClosing ? body.slice(0, -1) : body;
    const nameMatch = /^[^\s/>]+/.exec(inner);
    if (!nameMatch) throw new Error(`bad tag at ${lt}`);
    const attributes: Record<string, string> = {};
    const attrRe = /([^\s=]+)\s*=\s*("([^"]*)"|'([^']*)')/g;
    let m: RegExpExecArray | null;
    while ((m = attrRe.exec(inner.slice(nameMatch[0].length))) !== null) attributes[m[1]] = unescape(m[3] ?? m[4]);
    const element = { name: nameMatch[0], attributes, children: [] as XmlElement[] };
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    if (selfClosing) {
      if (stack.length === 0) root = element;
    } else stack.push(element);
  }
  if (!root || stack.length > 0) throw new Error('unterminated document');
  return root;
}

function findTagEnd(text: string, from: number): number {
  let quote = '';
  for (let k = from + 1; k < text.length; k++) {
    const c = text[k];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return k;
  }
  throw new Error('unterminated tag');
}

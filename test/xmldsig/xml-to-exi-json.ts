// Test helper: turns the RISE-V2G signature test-data XML (an XML-serialised V2G_Message) into the
// ExiJson shape of exi.md. It knows only the element types that vector uses; it is no XML parser.

/** Elements whose xs:base64Binary content becomes lowercase hex. */
const BASE64_ELEMENTS = new Set(['Certificate', 'DigestValue', 'SignatureValue', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey']);
/** Elements whose xs:hexBinary content becomes lowercase hex. */
const HEX_ELEMENTS = new Set(['SessionID']);
/** Simple-content types that declare an optional attribute, so their value is `{CONTENT}` even without one. */
const ATTRIBUTED_SIMPLE_ELEMENTS = new Set(['SignatureValue']);
/** Elements with maxOccurs > 1 in their parent (arrays even when single), per the XSDs. */
const REPEATED_ELEMENTS = new Set(['Reference', 'Certificate/SubCertificates']);

interface XmlElement {
  name: string;
  attributes: [string, string][];
  children: XmlElement[];
  text: string;
}

const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);

function parse(xml: string): XmlElement {
  const token = /<\?[^>]*\?>|<(\/?)([\w:.-]+)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  const root: XmlElement = { name: '#document', attributes: [], children: [], text: '' };
  const stack = [root];
  for (const match of xml.matchAll(token)) {
    const [, closing, name, attributes, selfClosing, text] = match;
    const parent = stack[stack.length - 1];
    if (text !== undefined) {
      parent.text += text;
    } else if (name === undefined) {
      continue; // XML declaration
    } else if (closing) {
      if (localName(stack.pop()!.name) !== localName(name)) throw new Error(`mismatched </${name}>`);
    } else {
      const element: XmlElement = {
        name: localName(name),
        attributes: [...attributes.matchAll(/([\w:.-]+)="([^"]*)"/g)]
          .filter(([, key]) => !key.startsWith('xmlns'))
          .map(([, key, value]) => [localName(key), value] as [string, string]),
        children: [],
        text: '',
      };
      parent.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  return root.children[0];
}

function value(element: XmlElement): unknown {
  const text = element.text.trim();
  if (BASE64_ELEMENTS.has(element.name)) return Buffer.from(text, 'base64').toString('hex');
  if (HEX_ELEMENTS.has(element.name)) return text.toLowerCase();
  return text;
}

function convert(element: XmlElement): unknown {
  const out: Record<string, unknown> = Object.fromEntries(element.attributes);
  if (element.children.length === 0) {
    if (element.text.trim() === '' && element.attributes.length > 0) return out;
    if (element.attributes.length === 0 && !ATTRIBUTED_SIMPLE_ELEMENTS.has(element.name)) return value(element);
    out.CONTENT = value(element);
    return out;
  }
  for (const child of element.children) {
    const converted = convert(child);
    if (REPEATED_ELEMENTS.has(child.name) || REPEATED_ELEMENTS.has(`${child.name}/${element.name}`)) {
      ((out[child.name] ??= []) as unknown[]).push(converted);
    } else {
      out[child.name] = converted;
    }
  }
  return out;
}

/** The document as ExiJson: `{ V2G_Message: { Header, Body } }`. */
export function xmlToExiJson(xml: string): Record<string, any> {
  const root = parse(xml);
  return { [root.name]: convert(root) };
}

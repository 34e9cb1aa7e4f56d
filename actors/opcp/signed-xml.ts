/**
 * OPCP hands signed contract data around as XML (`signedData`: "base64 XML CertificateInstallationRes",
 * cps.v1.json). This writes the V2G_Message of a signed CertificateInstallationRes from its EXI JSON
 * (exi.md shape: hex for binary, `{Id, CONTENT}` for simple content with attributes) in the layout of
 * the RISE-V2G signature test data: MsgDef envelope, MsgHeader SessionID, xmldsig Signature, MsgBody
 * body elements, MsgDataTypes certificates; base64Binary as base64, hexBinary as upper-case hex.
 * The signature covers the EXI fragments, so this text form carries it unchanged. `readSignedContractXml`
 * reads the same layout back (what an external CPS puts into the CCP as `signedContractDataXML`).
 */
import { PncError } from '../../protocols/errors.ts';

const NS = {
  v2g: 'urn:iso:15118:2:2013:MsgDef',
  hdr: 'urn:iso:15118:2:2013:MsgHeader',
  body: 'urn:iso:15118:2:2013:MsgBody',
  types: 'urn:iso:15118:2:2013:MsgDataTypes',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;
type Prefix = keyof typeof NS;

const PREFIX_OF: Readonly<Record<string, Prefix>> = {
  V2G_Message: 'v2g', Header: 'v2g', Body: 'v2g',
  SessionID: 'hdr',
  Signature: 'ds', SignedInfo: 'ds', CanonicalizationMethod: 'ds', SignatureMethod: 'ds', Reference: 'ds', Transforms: 'ds',
  Transform: 'ds', DigestMethod: 'ds', DigestValue: 'ds', SignatureValue: 'ds',
  CertificateInstallationRes: 'body', ResponseCode: 'body', SAProvisioningCertificateChain: 'body', ContractSignatureCertChain: 'body',
  ContractSignatureEncryptedPrivateKey: 'body', DHpublickey: 'body', eMAID: 'body',
};
const ATTRIBUTES = new Set(['Id', 'Algorithm', 'URI']);
const BASE64_ELEMENTS = new Set(['Certificate', 'DigestValue', 'SignatureValue', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey']);
const HEX_ELEMENTS = new Set(['SessionID']);

function escape(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function textOf(name: string, value: unknown): string {
  const raw = String(value);
  if (BASE64_ELEMENTS.has(name)) return Buffer.from(raw, 'hex').toString('base64');
  if (HEX_ELEMENTS.has(name)) return raw.toUpperCase();
  return escape(raw);
}

function element(name: string, value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => element(name, item)).join('');
  const tag = `${PREFIX_OF[name] ?? 'types'}:${name}`;
  if (value === null || typeof value !== 'object') return `<${tag}>${textOf(name, value)}</${tag}>`;
  const entries = Object.entries(value as Record<string, unknown>);
  const attributes = entries.filter(([key]) => ATTRIBUTES.has(key)).map(([key, v]) => ` ${key}="${escape(String(v))}"`).join('');
  const content = entries.filter(([key]) => !ATTRIBUTES.has(key));
  if (content.length === 0) return `<${tag}${attributes}/>`;
  const inner = content.map(([key, v]) => (key === 'CONTENT' ? textOf(name, v) : element(key, v))).join('');
  return `<${tag}${attributes}>${inner}</${tag}>`;
}

/** The XML text of a signed CertificateInstallationRes V2G_Message (ResponseCode OK, the given SessionID). */
export function signedContractXml(body: Record<string, unknown>, signature: Record<string, unknown>, sessionId = '0000000000000000'): string {
  const { ResponseCode, ...content } = body;
  void ResponseCode;
  const message = { Header: { SessionID: sessionId, Signature: signature }, Body: { CertificateInstallationRes: { ResponseCode: 'OK', ...content } } };
  const xmlns = (Object.keys(NS) as Prefix[]).map((prefix) => ` xmlns:${prefix}="${NS[prefix]}"`).join('');
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${element('V2G_Message', message).replace('<v2g:V2G_Message>', `<v2g:V2G_Message${xmlns}>`)}`;
}

/** Simple-content elements whose value sits in `CONTENT` (they carry an Id, or may: SignatureValue). */
const CONTENT_ELEMENTS = new Set(['SignatureValue', 'ContractSignatureEncryptedPrivateKey', 'DHpublickey', 'eMAID']);
/** Elements with maxOccurs > 1 in their parent (arrays even when single). */
const REPEATED = new Set(['SignedInfo/Reference', 'SubCertificates/Certificate']);

interface Node {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: Node[];
  text: string;
}

function unescape(value: string): string {
  return value.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
}

function parseXml(xml: string): Node {
  const root: Node = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  const token = /<\?[^>]*\?>|<!--[\s\S]*?-->|<(\/?)([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/g;
  let consumed = 0;
  for (const match of xml.matchAll(token)) {
    if (match.index !== consumed) break;
    consumed += match[0].length;
    const [, closing, qname, attributes, selfClosing, text] = match;
    const parent = stack[stack.length - 1];
    if (text !== undefined) {
      parent.text += unescape(text);
    } else if (qname !== undefined) {
      const name = qname.slice(qname.indexOf(':') + 1);
      if (closing) {
        if (stack.length < 2 || parent.name !== name) throw new PncError('XmlInvalid', `unexpected </${qname}>`);
        stack.pop();
      } else {
        const node: Node = { name, attributes: {}, children: [], text: '' };
        for (const [, key, value] of (attributes ?? '').matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) if (!key.startsWith('xmlns')) node.attributes[key.slice(key.indexOf(':') + 1)] = unescape(value);
        parent.children.push(node);
        if (!selfClosing) stack.push(node);
      }
    }
  }
  if (consumed !== xml.length || stack.length !== 1) throw new PncError('XmlInvalid', 'the XML is not well formed');
  return root;
}

function valueOf(node: Node): unknown {
  const text = node.text.trim();
  const binary = BASE64_ELEMENTS.has(node.name) ? Buffer.from(text, 'base64').toString('hex') : HEX_ELEMENTS.has(node.name) ? text.toLowerCase() : text;
  if (node.children.length === 0) {
    if (CONTENT_ELEMENTS.has(node.name)) return { ...node.attributes, CONTENT: binary };
    if (Object.keys(node.attributes).length) return { ...node.attributes };
    return binary;
  }
  const out: Record<string, unknown> = { ...node.attributes };
  for (const child of node.children) {
    const value = valueOf(child);
    if (REPEATED.has(`${node.name}/${child.name}`)) ((out[child.name] ??= []) as unknown[]).push(value);
    else out[child.name] = value;
  }
  return out;
}

/**
 * Reads a signed CertificateInstallationRes V2G_Message written as XML (the RISE-V2G layout, any
 * namespace prefixes) into the CCP's shape: the body content without ResponseCode, the header Signature
 * and the SessionID. Throws `XmlInvalid` for anything else.
 */
export function readSignedContractXml(xml: string): { sessionId: string; body: Record<string, unknown>; signature: Record<string, unknown> } {
  const document = parseXml(xml.trim());
  const message = document.children[0];
  if (document.children.length !== 1 || message.name !== 'V2G_Message') throw new PncError('XmlInvalid', 'the XML is not a V2G_Message');
  const json = valueOf(message) as { Header?: { SessionID?: string; Signature?: Record<string, unknown> }; Body?: { CertificateInstallationRes?: Record<string, unknown> } };
  const res = json.Body?.CertificateInstallationRes;
  if (!res || !json.Header?.Signature) throw new PncError('XmlInvalid', 'the V2G_Message carries no signed CertificateInstallationRes');
  const { ResponseCode, ...body } = res;
  void ResponseCode;
  return { sessionId: json.Header.SessionID ?? '', body, signature: json.Header.Signature };
}

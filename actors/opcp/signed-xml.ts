/**
 * OPCP hands signed contract data around as XML (`signedData`: "base64 XML CertificateInstallationRes",
 * cps.v1.json). This writes the V2G_Message of a signed CertificateInstallationRes from its EXI JSON
 * (exi.md shape: hex for binary, `{Id, CONTENT}` for simple content with attributes) in the layout of
 * the RISE-V2G signature test data: MsgDef envelope, MsgHeader SessionID, xmldsig Signature, MsgBody
 * body elements, MsgDataTypes certificates; base64Binary as base64, hexBinary as upper-case hex.
 * The signature covers the EXI fragments, so this text form carries it unchanged.
 */
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

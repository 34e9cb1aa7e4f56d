/**
 * The EXI code generator: reads the XSDs in protocols/exi/schemas and returns the generated modules
 * as text. `main.ts` writes them to protocols/exi/generated/; the tests compare them in memory.
 */
import { fileURLToPath } from 'node:url';
import { emitModule, XMLDSIG_NS, type ModuleSpec } from './emit.ts';
import { loadSchemaSet } from './model.ts';

export const SCHEMA_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));
export const GENERATED_DIR = fileURLToPath(new URL('../generated/', import.meta.url));

const ISO2 = ['iso2/V2G_CI_MsgDef.xsd', 'iso2/V2G_CI_MsgHeader.xsd', 'iso2/V2G_CI_MsgBody.xsd', 'iso2/V2G_CI_MsgDataTypes.xsd', 'xmldsig-core-schema.xsd'];
const DIN = ['din/V2G_CI_MsgDef.xsd', 'din/V2G_CI_MsgHeader.xsd', 'din/V2G_CI_MsgBody.xsd', 'din/V2G_CI_MsgDataTypes.xsd', 'xmldsig-core-schema.xsd'];
const APP = ['app/V2G_CI_AppProtocol.xsd'];
const XMLDSIG = ['xmldsig-core-schema.xsd'];

/** File name (in generated/) → content. */
export function generateAll(): Map<string, string> {
  const notXmldsig = (ns: string) => ns !== XMLDSIG_NS;
  const specs: ModuleSpec[] = [
    { name: 'xmldsig', title: 'W3C XML Signature types; the xmldsig-only fragment grammar (SignedInfo as ISO 15118-2 signs it).', schema: loadSchemaSet(SCHEMA_DIR, XMLDSIG), sources: XMLDSIG, ownNamespaces: (ns) => ns === XMLDSIG_NS, fragments: true },
    { name: 'app', title: 'Application handshake (supportedAppProtocolReq/Res), urn:iso:15118:2:2010:AppProtocol.', schema: loadSchemaSet(SCHEMA_DIR, APP), sources: APP, ownNamespaces: notXmldsig, fragments: false },
    { name: 'iso2', title: 'ISO 15118-2:2013 V2G_Message (urn:iso:15118:2:2013:MsgDef) and the MsgDef fragment grammar.', schema: loadSchemaSet(SCHEMA_DIR, ISO2), sources: ISO2, ownNamespaces: notXmldsig, fragments: true, fragmentNamespace: 'urn:iso:15118:2:2013:MsgBody' },
    { name: 'din', title: 'DIN 70121:2012 V2G_Message (urn:din:70121:2012:MsgDef).', schema: loadSchemaSet(SCHEMA_DIR, DIN), sources: DIN, ownNamespaces: notXmldsig, fragments: false },
  ];
  return new Map(specs.map((spec) => [`${spec.name}.ts`, emitModule(spec)]));
}

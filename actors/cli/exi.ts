import { readFile } from 'node:fs/promises';
import { PncError } from '../../protocols/errors.ts';
import { decodeExi, decodeExiAuto, encodeExi, EXI_SCHEMA_IDS, ExiDecodeError, type ExiJson, type ExiSchemaId } from '../../protocols/exi/index.ts';
import { ExactJsonError, parseExactJson, stringifyExactJson } from '../../protocols/exi/exact-json.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';


const USAGE = `usage: openpnc exi decode --schema SCHEMA [HEX|-]
       openpnc exi encode --schema SCHEMA [FILE|-]

Decode an EXI stream to JSON, or encode JSON to EXI, with the ISO 15118-2 / DIN 70121 grammars.

  decode   reads hex (argument, or stdin when '-' or absent; whitespace and a leading 0x are ignored)
           and prints the document as JSON in the shape of exi.md: the root key is the document
           element, binary values are lowercase hex, {"Id", "CONTENT"} for simple content with
           attributes, arrays for repeated elements, integers as exact numbers (also beyond 2^53).
  encode   reads that JSON (FILE, or stdin when '-' or absent; integers are read exactly, never
           rounded) and prints the EXI as lowercase hex.

options:
  --schema SCHEMA   app           supportedAppProtocolReq/Res (the handshake)
                    iso2          ISO 15118-2 V2G_Message
                    din           DIN 70121 V2G_Message
                    iso2-frag     ISO 15118-2 MsgBody fragment, as digested for XML signatures
                    iso2-xmldsig  SignedInfo in the xmldsig-only grammar, as signed
                    auto          (decode only) tries app, then iso2, then din; the schema that
                                  matched is printed on stderr as 'schema: <id>', so stdout stays
                                  the bare document and can be piped into 'exi encode'
  -h, --help        this text

Trailing padding after the document is reported on stderr ('padding: N bytes').
Invalid hex, invalid JSON or a document the schema does not allow gives a one-line error
(naming the bit position or the element path) and exit status 1.

examples:
  openpnc exi decode --schema app 8000dbab9371d3234b71d1b981899189d191818991d26b9b3a232b30020000040040
  openpnc exi decode --schema auto - < message.hex | openpnc exi encode --schema iso2`;

const FLAGS = { schema: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

/** A bad input: one line, exit status 1. */
const inputError = (message: string) => new CliError(message, 1);

async function readInput(source: string | undefined): Promise<string> {
  if (source !== undefined && source !== '-') return source;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseHex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '').replace(/^0x/i, '');
  if (digits === '') throw inputError('no hex input');
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) throw inputError(`invalid hex: '${bad[0]}' at digit ${bad.index + 1}`);
  if (digits.length % 2 !== 0) throw inputError(`invalid hex: odd number of digits (${digits.length})`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

function schemaFlag(value: string | undefined, allowAuto: boolean): ExiSchemaId | 'auto' {
  const allowed: readonly string[] = allowAuto ? [...EXI_SCHEMA_IDS, 'auto'] : EXI_SCHEMA_IDS;
  if (value === undefined) throw new CliError(`--schema is required (${allowed.join('|')})`);
  if (!allowed.includes(value)) throw new CliError(`unknown schema '${value}' (${allowed.join('|')})`);
  return value as ExiSchemaId | 'auto';
}

function decodeAs(schema: ExiSchemaId, bytes: Uint8Array) {
  try {
    return decodeExi(schema, bytes, { exactIntegers: true });
  } catch (error) {
    if (error instanceof PncError) throw inputError(`not a valid ${schema} EXI stream: ${firstLine(error.message)}`);
    throw error;
  }
}

function decodeAuto(bytes: Uint8Array): { schema: ExiSchemaId; result: ReturnType<typeof decodeExi> } {
  try {
    const { schema, ...result } = decodeExiAuto(bytes, { exactIntegers: true });
    return { schema, result };
  } catch (error) {
    if (error instanceof ExiDecodeError) throw inputError(firstLine(error.message));
    throw error;
  }
}

async function decodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS);
  const schema = schemaFlag(values.schema, true);
  if (positionals.length > 1) throw new CliError('decode takes one HEX argument (or - for stdin)');
  const bytes = parseHex(await readInput(positionals[0]));
  const { schema: matched, result } = schema === 'auto' ? decodeAuto(bytes) : { schema, result: decodeAs(schema, bytes) };
  if (schema === 'auto') console.error(`schema: ${matched}`);
  if (result.paddingBytes > 0) console.error(`padding: ${result.paddingBytes} bytes`);
  process.stdout.write(`${stringifyExactJson(result.document)}\n`);
  return 0;
}

async function encodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS);
  const schema = schemaFlag(values.schema, false) as ExiSchemaId;
  if (positionals.length > 1) throw new CliError('encode takes one FILE argument (or - for stdin)');
  const source = positionals[0];
  let text: string;
  try {
    text = source === undefined || source === '-' ? await readInput(undefined) : await readFile(source, 'utf8');
  } catch (error) {
    throw inputError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? firstLine((error as Error).message)}`);
  }
  let document: ExiJson;
  try {
    document = parseExactJson(text) as ExiJson;
  } catch (error) {
    if (error instanceof ExactJsonError) throw inputError(`invalid JSON: ${error.message}`);
    throw error;
  }
  let bytes: Uint8Array;
  try {
    bytes = encodeExi(schema, document);
  } catch (error) {
    if (error instanceof PncError) throw inputError(`not a valid ${schema} document: ${firstLine(error.message)}`);
    throw error;
  }
  process.stdout.write(`${Buffer.from(bytes).toString('hex')}\n`);
  return 0;
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** `openpnc exi decode|encode`: the EXI codec on the command line. */
export const exiCommand: Command = {
  summary: 'decode EXI hex to JSON and encode JSON to EXI (app, iso2, din, fragments)',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === undefined || ((sub === '--help' || sub === '-h') && rest.length === 0)) {
      console.log(USAGE);
      return sub === undefined ? 2 : 0;
    }
    if (wantsHelp(rest)) {
      console.log(USAGE);
      return 0;
    }
    if (sub === 'decode') return decodeCommand(rest);
    if (sub === 'encode') return encodeCommand(rest);
    throw new CliError(`unknown subcommand 'exi ${sub}' (decode or encode; see openpnc exi --help)`);
  },
};

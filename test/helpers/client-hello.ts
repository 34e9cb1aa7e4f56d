// Hand-built TLS 1.2 ClientHellos for what no ordinary client sends (a lone static-ECDH suite,
// hostile extensions); each extension is given as its type and body.

export interface HelloExtension {
  readonly type: number;
  readonly body: Buffer;
}

const u16 = (value: number) => Buffer.from([value >> 8, value & 0xff]);

/** supported_groups secp256r1, ec_point_formats uncompressed, signature_algorithms ecdsa_secp256r1_sha256. */
export const P256_EXTENSIONS: readonly HelloExtension[] = [
  { type: 0x000a, body: Buffer.from('00020017', 'hex') },
  { type: 0x000b, body: Buffer.from('0100', 'hex') },
  { type: 0x000d, body: Buffer.from('00020403', 'hex') },
];

/** One ClientHello record offering `suite` (e.g. 0xc023) with `extensions`, in a TLS 1.0 record header as clients send it. */
export function clientHello(suite: number, extensions: readonly HelloExtension[]): Buffer {
  const extensionBytes = Buffer.concat(extensions.flatMap((e) => [u16(e.type), u16(e.body.length), e.body]));
  const body = Buffer.concat([
    Buffer.from('0303', 'hex'),
    Buffer.alloc(32, 0x5a), // client random
    Buffer.from('00', 'hex'), // no session id
    u16(2), u16(suite),
    Buffer.from('0100', 'hex'), // compression: null
    u16(extensionBytes.length), extensionBytes,
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01, 0]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(handshake.length), handshake]);
}

// The V2G messages of a capture: V2GTP payloads reassembled from tshark's rows, named by our codec.
import { decodeExi } from '../../protocols/exi/index.ts';
import { V2gtpFrameReader } from '../../protocols/v2gtp/index.ts';

/** The V2GTP payloads one side sent, from the (decrypted TLS or plain TCP) payload rows `[src, dst, hex,…]` in capture order. */
export function payloadsFrom(rows: string[][], source: string): Uint8Array[] {
  const reader = new V2gtpFrameReader({ maxPayloadLength: 65_536 });
  return rows.filter(([src, , data]) => src === source && data).flatMap(([, , data]) => data.split(',').flatMap((record) => reader.push(Buffer.from(record, 'hex')))).map((f) => f.payload);
}

/** The name of each message: the handshake document first, then the ISO-2 (or DIN) body element. */
export function messageNames(payloads: Uint8Array[], schema: 'iso2' | 'din' = 'iso2'): string[] {
  return payloads.map((payload, i) => {
    const { document } = decodeExi(i === 0 ? 'app' : schema, payload) as { document: Record<string, { Body?: Record<string, unknown> }> };
    return i === 0 ? Object.keys(document)[0] : Object.keys(document.V2G_Message.Body!)[0];
  });
}

/** Consecutive repeats (CableCheck, PreCharge, CurrentDemand loops) as one. */
export const collapsed = (names: string[]) => names.filter((name, i) => name !== names[i - 1]);

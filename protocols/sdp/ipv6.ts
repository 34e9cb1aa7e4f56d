import { PncError } from '../errors.ts';

/**
 * Parses an IPv6 address in any RFC 4291 text form (`::` compression, trailing dotted IPv4,
 * optional `%zone`, which SDP does not carry and is dropped) into its 16 bytes.
 */
export function parseIpv6(text: string): Uint8Array {
  const invalid = () => new PncError('InvalidIpv6Address', `'${text}' is not an IPv6 address`);
  const address = text.replace(/^\[|\]$/g, '').split('%')[0];
  const halves = address.split('::');
  if (halves.length > 2) throw invalid();
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    pieces.forEach((piece, index) => {
      if (index === pieces.length - 1 && piece.includes('.')) {
        const octets = piece.split('.');
        if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) throw invalid();
        out.push((Number(octets[0]) << 8) | Number(octets[1]), (Number(octets[2]) << 8) | Number(octets[3]));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) throw invalid();
        out.push(parseInt(piece, 16));
      }
    });
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) throw invalid();
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Formats 16 bytes as the RFC 5952 canonical text: lowercase, longest zero run (≥ 2 groups) as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.byteLength !== 16) throw new PncError('InvalidIpv6Address', `an IPv6 address has 16 bytes, got ${bytes.byteLength}`);
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

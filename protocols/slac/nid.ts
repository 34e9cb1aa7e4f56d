import { createHash } from 'node:crypto';
import { SlacCodecError } from './frame.ts';

/**
 * NID from NMK as libslac derives it (EVerest/libslac `generate_nid_from_nmk`, link-layer.md §1.3):
 * SHA-256 applied five times, NID = first six bytes + (byte 6 >> 4), which leaves security level
 * 00 ("simple connect") in bits 4–5 of the seventh byte.
 */
export function nidFromNmk(nmk: string): string {
  if (!/^[0-9a-f]{32}$/.test(nmk)) throw new SlacCodecError('InvalidField', 'an NMK is 16 bytes as lowercase hex');
  let digest: Buffer = Buffer.from(nmk, 'hex');
  for (let i = 0; i < 5; i++) digest = createHash('sha256').update(digest).digest();
  return digest.subarray(0, 6).toString('hex') + (digest[6] >> 4).toString(16).padStart(2, '0');
}

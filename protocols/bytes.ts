/** Byte helpers the protocol modules share. */

/** Lowercase hex of `bytes`, read through a Buffer view of them (no copy). */
export function hexOfBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

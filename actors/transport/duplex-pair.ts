// The in-memory transport: two connected Duplex streams carrying V2GTP bytes, for the embedded
// default and for tests. Same seam as a tls.TLSSocket or net.Socket.
import { duplexPair as nodeDuplexPair, type Duplex } from 'node:stream';

/**
 * Two connected ends: bytes written to one are read from the other; `end()` is a FIN (the peer
 * reads to its end), `destroy()` is a reset (the peer is destroyed too, with an error if one was
 * given), as a TCP connection behaves. Node's own `duplexPair` leaves the peer open on destroy.
 */
export function duplexPair(): [Duplex, Duplex] {
  const [a, b] = nodeDuplexPair();
  const link = (self: Duplex, peer: Duplex) =>
    self.once('close', () => {
      if (!peer.destroyed) peer.destroy();
    });
  link(a, b);
  link(b, a);
  return [a, b];
}

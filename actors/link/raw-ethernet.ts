/**
 * Raw Ethernet adapter of the Link port: a named interface (a QCA7000's qcaspi netdev, a home-plug
 * adapter's Ethernet port, a veth in a test) through libpcap, npm `cap` (link-layer.md §5). By default
 * it sees only ethertype 0x88E1; the modem stand-in opens it unfiltered to bridge IP as well.
 * libpcap does not hand a handle its own transmitted frames, so a bridge cannot loop.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PncError } from '../../protocols/errors.ts';
import { MIN_FRAME_LENGTH, normalizeMac } from '../../protocols/slac/index.ts';
import type { FramePort } from './port.ts';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  send(buffer: Buffer, nbytes?: number): void;
  close(): void;
}

const MAX_FRAME = 65_536;
const PCAP_BUFFER = 4 * 1024 * 1024;

export interface RawEthernetOptions {
  /** pcap filter; default `ether proto 0x88e1`. Empty string: every frame. */
  readonly filter?: string;
}

/** The MAC of a Linux interface, from sysfs. */
export function interfaceMac(ifname: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(ifname)) throw new PncError('LinkAdapterFailed', `'${ifname}' is not an interface name`);
  try {
    return normalizeMac(readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim());
  } catch (error) {
    throw new PncError('LinkAdapterFailed', `interface ${ifname} not found`, { cause: error });
  }
}

export function openRawEthernet(ifname: string, options: RawEthernetOptions = {}): FramePort {
  const mac = interfaceMac(ifname);
  let Cap: new () => CapHandle;
  try {
    Cap = (createRequire(import.meta.url)('cap') as { Cap: new () => CapHandle }).Cap;
  } catch (error) {
    throw new PncError('LinkAdapterFailed', 'npm package `cap` is not built (needs Debian libpcap-dev before npm install)', { cause: error });
  }
  const cap = new Cap();
  const buffer = Buffer.alloc(MAX_FRAME);
  try {
    const linkType = cap.open(ifname, options.filter ?? 'ether proto 0x88e1', PCAP_BUFFER, buffer);
    if (linkType !== 'ETHERNET') throw new Error(`link type ${linkType} is not Ethernet`);
  } catch (error) {
    throw new PncError('LinkAdapterFailed', `cannot open ${ifname}: ${(error as Error).message}`, { cause: error });
  }
  const handlers = new Set<(frame: Uint8Array) => void>();
  cap.on('packet', (nbytes, truncated) => {
    if (truncated) return;
    const frame = Uint8Array.from(buffer.subarray(0, nbytes));
    for (const h of [...handlers]) h(frame);
  });
  let closed = false;
  return {
    mac,
    send(frame) {
      if (closed) throw new PncError('LinkAdapterFailed', `${ifname} is closed`);
      // A veth does not pad short frames; the HomePlug minimum is 60 bytes.
      const out = Buffer.alloc(Math.max(frame.length, MIN_FRAME_LENGTH));
      out.set(frame);
      try {
        cap.send(out, out.length);
      } catch (error) {
        throw new PncError('LinkAdapterFailed', `send on ${ifname} failed: ${(error as Error).message}`, { retryable: true, cause: error });
      }
    },
    onFrame(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      if (closed) return;
      closed = true;
      handlers.clear();
      cap.close();
    },
  };
}

// Link-local addressing on a named interface (link-layer.md §4): SDP announces the SECC's
// fe80:: address, and every socket on it needs the scope id (`%if`).
import { networkInterfaces } from 'node:os';
import { TransportError } from './errors.ts';

/** The interface's addresses; TransportUnavailable when there is no such interface. */
export function requireInterface(interfaceName: string) {
  const addresses = networkInterfaces()[interfaceName];
  if (!addresses) throw new TransportError('TransportUnavailable', `no network interface named '${interfaceName}'`);
  return addresses;
}

/** The interface's IPv6 link-local address (fe80::/10), without scope. */
export function linkLocalAddress(interfaceName: string): string {
  const addresses = requireInterface(interfaceName);
  const linkLocal = addresses.find((a) => a.family === 'IPv6' && isLinkLocal(a.address));
  if (!linkLocal) throw new TransportError('TransportUnavailable', `interface '${interfaceName}' has no IPv6 link-local address (is it up, is DAD finished?)`, { retryable: true });
  return linkLocal.address.split('%')[0];
}

export function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/** `address%if` for link-local addresses when an interface is known; other addresses as they are. */
export function scoped(address: string, interfaceName: string | undefined): string {
  const bare = address.split('%')[0];
  return interfaceName && isLinkLocal(bare) ? `${bare}%${interfaceName}` : bare;
}

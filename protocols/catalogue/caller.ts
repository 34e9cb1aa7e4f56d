/**
 * The caller identity the pools enforce data isolation with, on the bus itself and not only at the
 * OPCP gateway. It is what was authenticated (actors/bus/identity.ts: a participant's credential, or
 * the OAuth2 token the gateway acts for), never a payload field.
 *
 * Scoping follows OPCP (`docs/04_authentication.md`): an OEM's rights follow the WMI (first 3
 * characters of the PCID), an MO's the first 5 characters of the EMAID (country code + provider ID).
 */
import { z } from 'zod';
import { PncError } from '../errors.ts';
import { normalizeEmaid } from '../identifiers/index.ts';

/**
 * OPCP roles, plus the bus-only ones never issued as a token: `pool` for calls between the pool
 * participants, `root` (the V2G root CA), `opcp` (the gateway itself) and `inspector` (access.ts).
 */
export const callerRoles = ['admin', 'oem', 'mo', 'cpo', 'cps', 'pool', 'root', 'opcp', 'inspector'] as const;
export type CallerRole = (typeof callerRoles)[number];

export const caller = z.object({
  role: z.enum(callerRoles),
  /** OEM: WMIs (3 characters); MO: EMAID prefixes (5 characters); others: empty. Case-insensitive. */
  prefixes: z.array(z.string().regex(/^[A-Za-z0-9]{3,5}$/, 'expected a WMI or EMAID prefix')).max(100).default([]),
});
export type Caller = z.output<typeof caller>;

/** Throws `Forbidden` unless the caller has one of the roles. */
export function requireRole(who: Caller, ...roles: CallerRole[]): void {
  if (!roles.includes(who.role)) throw new PncError('Forbidden', `role ${who.role} may not do this (allowed: ${roles.join(', ')})`);
}

/** The WMI of a PCID: its first 3 characters, upper case. */
export function wmiOf(pcid: string): string {
  return pcid.slice(0, 3).toUpperCase();
}

/** An EMAID as the pools key it: normalised (OPCP `05_handling-of-ids.md`), without the check character. */
export function emaidKey(emaid: string): string {
  return normalizeEmaid(emaid).slice(0, 14);
}

/** The MO scope of an EMAID: country code + provider ID, upper case. */
export function emaidPrefixOf(emaid: string): string {
  return emaidKey(emaid).slice(0, 5);
}

function hasPrefix(who: Caller, prefix: string): boolean {
  return who.prefixes.some((p) => p.toUpperCase() === prefix);
}

/** True when an OEM caller owns the PCID's WMI. */
export function ownsPcid(who: Caller, pcid: string): boolean {
  return who.role === 'oem' && hasPrefix(who, wmiOf(pcid));
}

/** True when an MO caller owns the EMAID's provider prefix. */
export function ownsEmaid(who: Caller, emaid: string): boolean {
  return who.role === 'mo' && hasPrefix(who, emaidPrefixOf(emaid));
}

/** Throws `Forbidden` unless an OEM caller owns the PCID (pool callers always pass). */
export function requirePcidOwner(who: Caller, pcid: string): void {
  if (who.role === 'pool') return;
  if (!ownsPcid(who, pcid)) throw new PncError('Forbidden', `not allowed for PCID WMI ${wmiOf(pcid)}`);
}

/** Throws `Forbidden` unless an MO caller owns the EMAID (pool callers always pass). */
export function requireEmaidOwner(who: Caller, emaid: string): void {
  if (who.role === 'pool') return;
  if (!ownsEmaid(who, emaid)) throw new PncError('Forbidden', `not allowed for EMAID prefix ${emaidPrefixOf(emaid)}`);
}

/** Throws `Forbidden` unless the caller is the operator (`admin`) or an MO owning the EMAID. */
export function requireOperatorOrEmaidOwner(who: Caller, emaid: string): void {
  if (who.role === 'admin') return;
  if (!ownsEmaid(who, emaid)) throw new PncError('Forbidden', `role ${who.role} may not act on EMAID prefix ${emaidPrefixOf(emaid)}`);
}

/** Throws `Forbidden` unless the caller is the operator (`admin`) or the OEM owning the PCID. */
export function requireOperatorOrPcidOwner(who: Caller, pcid: string): void {
  if (who.role === 'admin') return;
  if (!ownsPcid(who, pcid)) throw new PncError('Forbidden', `role ${who.role} may not act on PCID WMI ${wmiOf(pcid)}`);
}

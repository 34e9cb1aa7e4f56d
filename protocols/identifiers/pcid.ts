// PCID (provisioning certificate ID): the CN of the OEM provisioning certificate.
// VDE-AR-E 2802-100-1: <PCID> = <WMI (3)> <OEM's own unique ID (14)> [<check character>].
import { PncError } from '../errors.ts';

/** A PCID that does not follow the syntax; `reason` names the part that is wrong. */
export class PcidSyntaxError extends PncError {
  override readonly name = 'PcidSyntaxError';
  constructor(readonly input: string, readonly reason: string) {
    super('PcidSyntaxError', `invalid PCID '${input}': ${reason}`, { data: { input, reason } });
  }
}

/** A parsed PCID. Case is kept: PCIDs in use mix cases (`HUBOpenProvCert001`) and the CN is matched as issued. */
export interface Pcid {
  /** World Manufacturer Identifier of the OEM (3 characters); an OEM's rights follow it. */
  readonly wmi: string;
  /** The OEM's 14-character vehicle identifier. */
  readonly vehicleId: string;
  /** The optional 18th character. No public algorithm defines it, so it is carried, not checked. */
  readonly checkCharacter?: string;
  readonly value: string;
}

const ALPHANUMERIC = /^[A-Za-z0-9]*$/;

function assertAlphanumeric(input: string, part: string, value: string): void {
  if (ALPHANUMERIC.test(value)) return;
  const index = [...value].findIndex((c) => !/[A-Za-z0-9]/.test(c));
  throw new PcidSyntaxError(input, `${part} contains '${value[index]}'; only letters and digits are allowed`);
}

/**
 * Parses a PCID: 17 or 18 letters and digits, no separators (`^[a-zA-Z0-9]{17,18}$`).
 * @throws PcidSyntaxError naming what is wrong.
 */
export function parsePcid(input: string): Pcid {
  const value = input.trim();
  assertAlphanumeric(input, 'the PCID', value);
  if (value.length !== 17 && value.length !== 18) {
    throw new PcidSyntaxError(input, `must have 17 characters (WMI 3 + vehicle ID 14), or 18 with a check character (has ${value.length})`);
  }
  return {
    wmi: value.slice(0, 3),
    vehicleId: value.slice(3, 17),
    ...(value.length === 18 ? { checkCharacter: value[17] } : {}),
    value,
  };
}

/**
 * Builds a PCID from the OEM's WMI and a 14-character vehicle identifier, with an optional
 * check character chosen by the OEM.
 * @throws PcidSyntaxError when a part has the wrong length or characters.
 */
export function makePcid(wmi: string, vehicleId: string, checkCharacter?: string): string {
  const label = `${wmi}${vehicleId}${checkCharacter ?? ''}`;
  assertAlphanumeric(label, 'the WMI', wmi);
  assertAlphanumeric(label, 'the vehicle ID', vehicleId);
  if (wmi.length !== 3) throw new PcidSyntaxError(label, `the WMI must have 3 characters (has ${wmi.length})`);
  if (vehicleId.length !== 14) throw new PcidSyntaxError(label, `the vehicle ID must have 14 characters (has ${vehicleId.length})`);
  if (checkCharacter !== undefined && !/^[A-Za-z0-9]$/.test(checkCharacter)) {
    throw new PcidSyntaxError(label, 'the check character must be one letter or digit');
  }
  return label;
}

/**
 * The one rule for PCIDs across the system: a PCID is the provisioning certificate's CN and is
 * matched exactly as the OEM issued it, never re-cased (real PCIDs mix cases, `HUBOpenProvCert001`,
 * and OPCP's pattern `^[a-zA-Z0-9]{17,18}$` keeps both). Stores key vehicles, chains and contracts by
 * `pcidKey`, and every comparison goes through `samePcid`.
 * @throws PcidSyntaxError when `pcid` is not a PCID.
 */
export function pcidKey(pcid: string): string {
  return parsePcid(pcid).value;
}

/** Whether two strings name the same PCID under the rule of `pcidKey`; false when either is not a PCID. */
export function samePcid(a: string, b: string): boolean {
  try {
    return pcidKey(a) === pcidKey(b);
  } catch (error) {
    if (error instanceof PcidSyntaxError) return false;
    throw error;
  }
}

// Plug&Charge identifiers: EMAID (contract) and PCID (vehicle provisioning certificate).
export {
  parseEmaid,
  normalizeEmaid,
  validateEmaid,
  sameEmaid,
  emaidCheckDigit,
  dinCheckDigit,
  dinEmaidToIso,
  EmaidSyntaxError,
  EmaidCheckDigitMismatch,
  type Emaid,
} from './emaid.ts';
export { parsePcid, makePcid, pcidKey, samePcid, PcidSyntaxError, type Pcid } from './pcid.ts';

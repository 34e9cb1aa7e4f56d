/**
 * Every machine of the project, by participant: what the inspector draws and lights, and what
 * `openpnc statecharts export` and `npm run docs` write as diagrams. A test fails when a machine
 * exported from `statecharts/` is missing here.
 */
import type { AnyStateMachine } from 'xstate';
import { ccpMachine } from './ccp.ts';
import { signingMachine } from './cps.ts';
import { contractMachine } from './mo.ts';
import { vehicleMachine } from './oem.ts';
import { pcpMachine } from './pcp.ts';
import { rcpMachine } from './rcp.ts';
import { vehicleDeletionMachine } from './pcp-delete.ts';
import { slacEvMachine } from './slac-ev.ts';
import { slacEvseMachine } from './slac-evse.ts';
import { seccSessionMachine } from './secc-session.ts';
import { evSessionMachine } from './ev-session.ts';

export interface StatechartEntry {
  /** The participant that hosts the machine's actors (`inspect.<participant>.<id>`). */
  readonly participant: string;
  readonly machine: AnyStateMachine;
  readonly summary: string;
}

export const statecharts: readonly StatechartEntry[] = [
  { participant: 'rcp', machine: rcpMachine, summary: 'purges expired and revoked roots at their deadline' },
  { participant: 'pcp', machine: pcpMachine, summary: 'purges expired provisioning chains at their deadline' },
  { participant: 'pcp', machine: vehicleDeletionMachine, summary: 'deletes a vehicle\'s provisioning chain and cascades to its CCP contracts, resuming after a crash' },
  { participant: 'ccp', machine: ccpMachine, summary: 'purges expired contracts at their deadline' },
  { participant: 'oem', machine: vehicleMachine, summary: 'a vehicle: provisioning certificate, upload to the PCP, deletion' },
  { participant: 'mo', machine: contractMachine, summary: 'a contract: chain check, issuance, CPS submission, CCP confirmation, termination' },
  { participant: 'cps', machine: signingMachine, summary: 'signs contract data and puts it into the CCP' },
  { participant: 'secc', machine: slacEvseMachine, summary: 'SLAC on the charger side (ISO 15118-3): parameters, sounding, validation, match, key' },
  { participant: 'secc', machine: seccSessionMachine, summary: 'one charging session on the charger: ISO 15118-2 / DIN 70121, a state per request, PnC and EIM, AC and DC, pause and resume' },
  { participant: 'ev', machine: evSessionMachine, summary: 'the EVCC side of a charging session: the request sequence with its timeouts, installation, signed authorization and receipts' },
  { participant: 'ev', machine: slacEvMachine, summary: 'SLAC on the EV side (ISO 15118-3): sounds, picks the lowest attenuation, matches, joins' },
];

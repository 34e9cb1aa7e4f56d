// `openpnc secc --if IF` and `openpnc ev --if IF`: one side of a Plug&Charge charging session on a
// real interface, over the same link code as the story (actors/participants/v2g/link.ts).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vehicleRecord } from '../../protocols/catalogue/oem.ts';
import { PncError } from '../../protocols/errors.ts';
import { participantHandle } from '../host/credentials.ts';
import { SimulatedPilot } from '../link/port.ts';
import { exportPrivateKey, importPrivateKey } from '../participants/authority.ts';
import { createEv } from '../participants/ev/index.ts';
import { loadParticipants } from '../participants/index.ts';
import { busCpoBackend } from '../participants/secc/backend.ts';
import { createSeccStation } from '../participants/secc/index.ts';
import { chargeOverLink, interfaceTransport, serveOverLink, type LinkStep } from '../participants/v2g/link.ts';
import type { TraceEntry } from '../participants/v2g/runner.ts';
import { openEmbeddedStore } from '../store/index.ts';
import { runStory } from '../story/index.ts';
import type { Vehicle } from '../story/vehicle.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';

const seccUsage = `usage: openpnc secc --if IF --vehicle-out FILE [--no-slac] [--keylog FILE] [--sessions N] [--data DIR]

Runs a charger on a real interface. The back office (roots, OEM, MO, CPS, CCP, PCP, CPO) runs
embedded in this process as in 'openpnc start' and plays processes 1–6 first: it produces one
vehicle with a concluded contract and writes it to --vehicle-out for 'openpnc ev'. Then: SLAC as
EVSE over raw Ethernet (ethertype 0x88E1; the control pilot is simulated at B with 5 % PWM), the SDP
server on UDP [ff02::1]:15118 of IF, V2GTP over TLS 1.2 with the station's SECC leaf on IF's
link-local address and a port in 49152–65535, and one ISO 15118-2 session per connecting EV, with
CertificateInstallation and Authorization through the CPO back office.

  --if IF             the interface (its IPv6 link-local address must be up: wait for DAD)
  --vehicle-out FILE  where the produced vehicle goes (JSON with its provisioning key: lab use only)
  --no-slac           skip SLAC: IF already is the IP link to the EV (a veth pair, an Ethernet cable)
  --keylog FILE       append TLS secrets in NSS key log format (tshark -o tls.keylog_file:FILE)
  --sessions N        exit after N sessions (default: run until SIGINT/SIGTERM)
  --data DIR          the embedded store (default: a fresh temporary directory)
  -h, --help          this text`;

const evUsage = `usage: openpnc ev --if IF --vehicle FILE [--no-slac] [--keylog FILE] [--tcp] [--target-soc P]

Runs a vehicle on a real interface: SLAC as EV over raw Ethernet (unless --no-slac), SDP with
retries (250 ms × 50), TLS 1.2 against the vehicle's V2G roots with the [V2G2-925] DC=CPO check of
the SECC leaf, then one DC charging session with Plug&Charge: the contract is installed first
(CertificateInstallation) since the vehicle starts with none. Prints each step; exits 0 when the
session completed, 1 otherwise.

  --if IF          the interface
  --vehicle FILE   the vehicle written by 'openpnc secc --vehicle-out'
  --no-slac        skip SLAC: IF already is the IP link to the charger
  --keylog FILE    append TLS secrets in NSS key log format
  --tcp            ask SDP for no TLS and use plain TCP (EIM; the charger must be EIM-only)
  --target-soc P   charge to P % (default 80)
  -h, --help       this text`;

const say = (line: string) => process.stdout.write(`${line}\n`);
const started = Date.now();
const stepLine = (who: string) => (step: LinkStep) => say(`+${String(Date.now() - started).padStart(6)} ms  ${who} ${step.layer}: ${step.text}`);
const traceLine = (entry: TraceEntry) => say(`+${String(Date.now() - started).padStart(6)} ms  ${entry.side} v2g ${entry.direction === 'out' ? 'sent' : 'received'} ${entry.name} ${entry.exi}`);

function whole(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new CliError(`--${flag} must be a whole number from ${min} to ${max}, not '${value}'`);
  return Number(value);
}

/** The vehicle as a file: its OEM record and the PKCS#8 of its provisioning key (a lab hand-over). */
async function writeVehicle(file: string, vehicle: Vehicle): Promise<void> {
  const { provisioningKey, ...record } = vehicle;
  writeFileSync(file, JSON.stringify({ ...record, provisioningKey: await exportPrivateKey(provisioningKey) }, null, 2), { mode: 0o600 });
}

async function readVehicle(file: string): Promise<Vehicle> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read the vehicle ${file}: ${(error as Error).message.replace(/\s+/g, ' ')}`, 1);
  }
  const { provisioningKey, ...rest } = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const record = vehicleRecord.safeParse(rest);
  if (!record.success || typeof provisioningKey !== 'string') throw new CliError(`${file} is not a vehicle written by 'openpnc secc --vehicle-out'`, 1);
  try {
    return { ...record.data, provisioningKey: await importPrivateKey(provisioningKey) };
  } catch {
    throw new CliError(`${file} holds no usable provisioning key`, 1);
  }
}

/** Resolves on SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export const seccCommand: Command = {
  summary: 'a charger on a real interface: SLAC, SDP, TLS 1.2 and ISO 15118-2 sessions, with the back office embedded',
  usage: seccUsage,
  async run(argv) {
    if (wantsHelp(argv)) return say(seccUsage), 0;
    const { values } = parseFlags(argv, {
      if: { type: 'string' }, 'vehicle-out': { type: 'string' }, 'no-slac': { type: 'boolean' }, keylog: { type: 'string' }, sessions: { type: 'string' }, data: { type: 'string' },
    }, false);
    if (!values.if) throw new CliError('--if IF is required (see openpnc secc --help)');
    if (!values['vehicle-out']) throw new CliError('--vehicle-out FILE is required: the EV side needs the vehicle the OEM produced');
    const sessions = whole(values.sessions, 'sessions', 1, 1_000_000);
    const link = interfaceTransport(values.if, { slac: !values['no-slac'] });
    const story = await runStory({ participants: await loadParticipants(), charge: false, ...(values.data ? { dataDir: values.data } : {}), print: say });
    try {
      await writeVehicle(values['vehicle-out'], story.vehicle);
      say(`vehicle PCID ${story.vehicle.pcid} written to ${values['vehicle-out']}`);
      const bus = story.timeline.busFor('secc', participantHandle(story.identities, story.bus, 'secc'));
      const station = createSeccStation(bus, story.store, { name: 'lab-secc', trace: traceLine });
      await station.security.ensureLeaf(busCpoBackend(bus), { commonName: 'SECC-LAB-1', organization: 'Open Plug&Charge CPO' });
      let served = 0;
      let failed = 0;
      let allServed!: () => void;
      const done = new Promise<void>((resolve) => (allServed = resolve));
      const secc = await serveOverLink(station, {
        link, pilot: new SimulatedPilot({ state: 'B', pwm5: true }), onStep: stepLine('secc'),
        ...(values.keylog ? { keyLogFile: values.keylog } : {}),
        onSession: (output) => {
          say(`secc session: ${output.outcome}${output.closeReason ? ` (${output.closeReason})` : ''}`);
          if (output.outcome === 'failed') failed++;
          if (sessions !== undefined && ++served >= sessions) allServed();
        },
      });
      say(`ready: SDP on UDP 15118 of ${values.if}, V2GTP TLS on [${secc.address}%${values.if}]:${secc.port}`);
      await Promise.race([done, interrupted()]);
      await secc.close();
      return failed === 0 ? 0 : 1;
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`secc failed: ${error.code}: ${error.message}`, 1);
      throw error;
    } finally {
      await story.stop();
      await link.close();
    }
  },
};

export const evCommand: Command = {
  summary: 'a vehicle on a real interface: SLAC, SDP, TLS 1.2 with the DC=CPO check, one Plug&Charge session',
  usage: evUsage,
  async run(argv) {
    if (wantsHelp(argv)) return say(evUsage), 0;
    const { values } = parseFlags(argv, {
      if: { type: 'string' }, vehicle: { type: 'string' }, 'no-slac': { type: 'boolean' }, keylog: { type: 'string' }, tcp: { type: 'boolean' }, 'target-soc': { type: 'string' },
    }, false);
    if (!values.if) throw new CliError('--if IF is required (see openpnc ev --help)');
    if (!values.vehicle) throw new CliError('--vehicle FILE is required (written by openpnc secc --vehicle-out)');
    const targetSoc = whole(values['target-soc'], 'target-soc', 1, 100) ?? 80;
    const vehicle = await readVehicle(values.vehicle);
    const link = interfaceTransport(values.if, { slac: !values['no-slac'] });
    const store = await openEmbeddedStore(mkdtempSync(join(tmpdir(), 'openpnc-ev-')));
    try {
      const ev = createEv(store, vehicle, { battery: { soc: 78.5, capacityWh: 60_000 }, trace: traceLine });
      const output = await chargeOverLink(ev, {
        link, pilot: new SimulatedPilot({ state: 'B', pwm5: true }), onStep: stepLine('ev'),
        ...(values.keylog ? { keyLogFile: values.keylog } : {}), ...(values.tcp ? { tcp: true } : {}),
        plan: { energyMode: 'DC_extended', targetSoc, loopIntervalMs: 0, ...(values.tcp ? { payment: 'ExternalPayment' as const } : {}) },
      });
      say(`ev session: ${output.outcome}${output.emaid ? `, EMAID ${output.emaid}` : ''}, ${(ev.battery.chargedWh / 1000).toFixed(2)} kWh, SoC ${ev.battery.soc.toFixed(1)} %${output.reason ? ` (${output.reason})` : ''}`);
      return output.outcome === 'completed' ? 0 : 1;
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`ev failed: ${error.code}: ${error.message}`, 1);
      throw error;
    } finally {
      await store.close();
      await link.close();
    }
  },
};

// `openpnc secc --if IF` and `openpnc ev --if IF`: one side of a Plug&Charge charging session on a
// real interface, over the same link code as the story (actors/participants/v2g/link.ts). The SECC
// reaches a remote CPO backend (its bus subjects on NATS, or OCPP 2.0.1 with --set ocpp.url=…); the
// EV is a vehicle directory from `openpnc vehicle produce`, whose private key never leaves it [S4].
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PncError } from '../../protocols/errors.ts';
import { createLogger } from '../host/log.ts';
import { SimulatedPilot } from '../link/port.ts';
import { createEv } from '../participants/ev/index.ts';
import { readVehicleDir } from '../participants/ev/vehicle-file.ts';
import { backendFromConfig, createSeccStation } from '../participants/secc/index.ts';
import { preferShortGcPauses } from '../host/gc-policy.ts';
import { chargeOverLink, interfaceTransport, serveOverLink, type LinkStep } from '../participants/v2g/link.ts';
import type { TraceEntry } from '../participants/v2g/runner.ts';
import { openEmbeddedStore } from '../store/index.ts';
import { CliError, parseFlags, wantsHelp, type Command } from './command.ts';
import { hostParticipants, parseServers, parseSettings } from './run.ts';

const seccUsage = `usage: openpnc secc --if IF (--nats URL[,URL…] [--creds DIR] | --set ocpp.url=URL … | --tcp-eim-only) [options]

Runs a charger on a real interface against a remote CPO backend: the CPO participant's subjects on
NATS (as credential 'secc' with --creds), or an OCPP 2.0.1 CSMS with --set ocpp.url=wss://…/STATION
(and ocpp.stationId, ocpp.password or ocpp.certFile/ocpp.keyFile, ocpp.caFile). First it gets its
SECC leaf signed through the backend (its key is made and kept here), then: SLAC as EVSE over raw
Ethernet (ethertype 0x88E1; the control pilot is simulated at B with 5 % PWM), the SDP server on UDP
[ff02::1]:15118 of IF, V2GTP over TLS 1.2 with the SECC leaf on IF's link-local address and a port
in 49152–65535, and one ISO 15118-2 session per connecting EV, with CertificateInstallation and
Authorization through the backend.

  --if IF             the interface (its IPv6 link-local address must be up: wait for DAD)
  --nats URL[,URL…]   the back office's NATS (openpnc run cpo … --nats)
  --creds DIR         credentials from 'openpnc deploy creds': connect and sign as DIR/secc.nk
  --set KEY=VALUE     station setting, repeatable (name, ocpp.url, ocpp.stationId, …)
  --tcp-eim-only      plain TCP and no SECC leaf, for a charger that offers EIM alone (DIN 70121 runs
                      without TLS in practice); needs no CPO backend, since EIM sessions do not call it
  --no-slac           skip SLAC: IF already is the IP link to the EV (a veth pair, an Ethernet cable)
  --keylog FILE       append TLS secrets in NSS key log format (tshark -o tls.keylog_file:FILE)
  --sessions N        exit after N sessions (default: run until SIGINT/SIGTERM)
  --data DIR          the station's store: leaf key, paused sessions, receipts (default: a fresh temporary directory)
  -h, --help          this text`;

const evUsage = `usage: openpnc ev --if IF --vehicle VDIR [--no-slac] [--keylog FILE] [--tcp | --eim] [--protocol iso2|din] [--target-soc P]

Runs a vehicle on a real interface: SLAC as EV over raw Ethernet (unless --no-slac), SDP with
retries (250 ms × 50), TLS 1.2 against the vehicle's V2G roots with the [V2G2-925] DC=CPO check of
the SECC leaf, then one DC charging session with Plug&Charge: the contract is installed first
(CertificateInstallation) since the vehicle starts with none. Prints each step; exits 0 when the
session completed, 1 otherwise.

  --if IF          the interface
  --vehicle VDIR   the vehicle from 'openpnc vehicle produce' (its record and its own provisioning key)
  --no-slac        skip SLAC: IF already is the IP link to the charger
  --keylog FILE    append TLS secrets in NSS key log format
  --tcp            ask SDP for no TLS and use plain TCP (EIM; the charger must be EIM-only)
  --eim            EIM (ExternalPayment) over TLS instead of Plug&Charge
  --protocol P     offer only iso2 or din in the handshake (default: iso2, then din)
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

/** Resolves on SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export const seccCommand: Command = {
  summary: 'a charger on a real interface against a remote CPO backend (NATS or OCPP 2.0.1): SLAC, SDP, TLS 1.2 and ISO 15118-2 sessions',
  usage: seccUsage,
  async run(argv) {
    if (wantsHelp(argv)) return say(seccUsage), 0;
    const { values } = parseFlags(argv, {
      if: { type: 'string' }, nats: { type: 'string' }, creds: { type: 'string' }, set: { type: 'string', multiple: true },
      'no-slac': { type: 'boolean' }, keylog: { type: 'string' }, sessions: { type: 'string' }, data: { type: 'string' }, 'tcp-eim-only': { type: 'boolean' },
    }, false);
    if (!values.if) throw new CliError('--if IF is required (see openpnc secc --help)');
    const config = parseSettings(values.set);
    const eimOnlyTcp = values['tcp-eim-only'] === true;
    if (!values.nats && !config['ocpp.url'] && !eimOnlyTcp) throw new CliError('name the CPO backend: --nats URL (its bus subjects) or --set ocpp.url=URL (OCPP 2.0.1)');
    if (values.creds && !values.nats) throw new CliError('--creds DIR needs --nats URL');
    const sessions = whole(values.sessions, 'sessions', 1, 1_000_000);
    preferShortGcPauses();
    const dataDir = values.data ?? mkdtempSync(join(tmpdir(), 'openpnc-secc-'));
    const log = createLogger({ write: () => undefined });
    // No participant of its own: the store, and the bus as credential 'secc' (in-process when the backend is OCPP only).
    const hosting = await hostParticipants({
      participants: [], dataDir, config, log, ...(values.nats ? { nats: parseServers(values.nats) } : {}), ...(values.creds ? { credentials: values.creds } : {}),
    });
    const link = interfaceTransport(values.if, { slac: !values['no-slac'] });
    let ocpp: Awaited<ReturnType<typeof backendFromConfig>> | undefined;
    try {
      const bus = await hosting.connect('secc');
      ocpp = await backendFromConfig({ bus, store: hosting.store, config, log });
      const { backend } = ocpp;
      const station = createSeccStation(bus, hosting.store, { name: config.name ?? 'lab-secc', backend, trace: traceLine });
      const leafSubject = { commonName: config.commonName ?? 'SECC-LAB-1', organization: config.organization ?? 'Open Plug&Charge CPO' };
      if (!eimOnlyTcp) {
        const leaf = await station.security.ensureLeaf(backend, leafSubject);
        say(`secc leaf ${leaf} through the CPO backend (${config['ocpp.url'] ? `OCPP 2.0.1 at ${config['ocpp.url']}` : `bus on ${values.nats}`})`);
      }
      let served = 0;
      let failed = 0;
      let allServed!: () => void;
      const done = new Promise<void>((resolve) => (allServed = resolve));
      const secc = await serveOverLink(station, {
        link, pilot: new SimulatedPilot({ state: 'B', pwm5: true }), onStep: stepLine('secc'),
        ...(values.keylog ? { keyLogFile: values.keylog } : {}), ...(eimOnlyTcp ? { eimOnlyTcp } : { renewLeaf: leafSubject }),
        onSession: (output) => {
          say(`secc session: ${output.outcome}${output.closeReason ? ` (${output.closeReason})` : ''}`);
          if (output.outcome === 'failed') failed++;
          if (sessions !== undefined && ++served >= sessions) allServed();
        },
      });
      say(`ready: SDP on UDP 15118 of ${values.if}, V2GTP ${eimOnlyTcp ? 'TCP' : 'TLS'} on [${secc.address}%${values.if}]:${secc.port}`);
      await Promise.race([done, interrupted()]);
      await secc.close();
      return failed === 0 ? 0 : 1;
    } catch (error) {
      if (error instanceof PncError) throw new CliError(`secc failed: ${error.code}: ${error.message}`, 1);
      throw error;
    } finally {
      await ocpp?.stop();
      await hosting.stop();
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
      eim: { type: 'boolean' }, protocol: { type: 'string' },
    }, false);
    if (values.protocol !== undefined && values.protocol !== 'iso2' && values.protocol !== 'din') throw new CliError(`--protocol must be iso2 or din, not '${values.protocol}'`);
    if (values.eim && values.tcp) throw new CliError('--tcp already means EIM; --eim is EIM over TLS');
    const eim = values.tcp === true || values.eim === true;
    if (!values.if) throw new CliError('--if IF is required (see openpnc ev --help)');
    if (!values.vehicle) throw new CliError('--vehicle VDIR is required (written by openpnc vehicle produce)');
    const targetSoc = whole(values['target-soc'], 'target-soc', 1, 100) ?? 80;
    const vehicle = await readVehicleDir(values.vehicle).catch((error: unknown) => {
      throw error instanceof PncError ? new CliError(`${error.code}: ${error.message}`, 1) : error;
    });
    const link = interfaceTransport(values.if, { slac: !values['no-slac'] });
    const store = await openEmbeddedStore(mkdtempSync(join(tmpdir(), 'openpnc-ev-')));
    try {
      const ev = createEv(store, vehicle, { battery: { soc: 78.5, capacityWh: 60_000 }, trace: traceLine });
      const output = await chargeOverLink(ev, {
        link, pilot: new SimulatedPilot({ state: 'B', pwm5: true }), onStep: stepLine('ev'),
        ...(values.keylog ? { keyLogFile: values.keylog } : {}), ...(values.tcp ? { tcp: true } : {}),
        plan: { energyMode: 'DC_extended', targetSoc, loopIntervalMs: 0, ...(eim ? { payment: 'ExternalPayment' as const } : {}), ...(values.protocol ? { protocols: [values.protocol as 'iso2' | 'din'] } : {}) },
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

/**
 * Process 7 of the story: the car plugs in. The EV (with an empty contract store) and an SECC of
 * the CPO run one ISO 15118-2 Plug&Charge DC session over the in-memory line:
 * CertificateInstallation through the CPO backend, PaymentDetails, signed Authorization, a few
 * seconds of simulated energy, a signed MeteringReceipt, SessionStop. Every V2G message goes on the
 * timeline with its EXI in hex (for `--trace`), after the link steps: plug-in, SLAC on the in-memory
 * power line, SDP over the matched link, TLS 1.2 with the station's SECC leaf, its stapled OCSP response
 * (the cache filled through the backend, M06) and the EV's DC=CPO and OCSP checks.
 */
import type { Bus } from '../bus/bus.ts';
import type { Store } from '../store/store.ts';
import type { Vehicle } from './vehicle.ts';
import { PncError } from '../../protocols/errors.ts';
import type { EvOutput } from '../../statecharts/ev-session.ts';
import type { SeccOutput } from '../../statecharts/secc-session.ts';
import { createEv } from '../participants/ev/index.ts';
import { createSeccStation } from '../participants/secc/index.ts';
import { busCpoBackend, type CpoBackendPort } from '../participants/secc/backend.ts';
import type { TraceEntry } from '../participants/v2g/runner.ts';
import { chargeOverLink, lineTransport, serveOverLink, type LinkStep } from '../participants/v2g/link.ts';
import { systemLinkClock } from '../link/clock.ts';
import { SimulatedPilot } from '../link/port.ts';
import { PowerLine } from '../link/powerline.ts';
import type { Timeline } from './timeline.ts';

export interface Charged {
  readonly ev: EvOutput;
  readonly secc: SeccOutput;
  readonly chargedWh: number;
  readonly soc: { readonly from: number; readonly to: number };
}

/**
 * `backend` is the SECC's CPO-backend port: the story passes OCPP 2.0.1 (./ocpp.ts); the CPO's bus subjects
 * otherwise. `evBus` carries the vehicle's inspection stream (its own identity); the SECC's goes on `bus`.
 */
export async function chargeAtStation(timeline: Timeline, bus: Bus, store: Store, vehicle: Vehicle, options: { readonly backend?: CpoBackendPort; readonly evBus?: Bus } = {}): Promise<Charged> {
  const { backend = busCpoBackend(bus), evBus } = options;
  // The timeline shows each message once, as the EV sent or received it.
  const onTimeline = (entry: TraceEntry) => {
    const [who, field] = entry.direction === 'out' ? ['ev', 'exiRequest'] : ['secc', 'exiResponse'];
    timeline.end(timeline.begin(who, 'event', `v2g ${entry.name}`, { [field]: Buffer.from(entry.exi, 'hex').toString('base64') }), 'ok');
  };
  const onLink = (who: 'secc' | 'ev') => (step: LinkStep) => timeline.end(timeline.begin(who, 'event', `${step.layer} ${step.text}`, {}), 'ok');
  const station = createSeccStation(bus, store, { name: 'story-secc', backend });
  const leafSubject = { commonName: 'SECC-STORY-1', organization: 'Open Plug&Charge CPO' };
  await station.security.ensureLeaf(backend, leafSubject);
  const ev = createEv(store, vehicle, { battery: { soc: 78.5, capacityWh: 60_000 }, trace: onTimeline, ...(evBus ? { inspectOn: evBus } : {}) });
  const from = ev.battery.soc;
  // The charger and the car on one in-memory power line, each behind its modem; their control pilots.
  const line = new PowerLine({ clock: systemLinkClock });
  const chargerPlc = line.addStation({ mac: '020000005e01', role: 'evse' });
  const carPlc = line.addStation({ mac: '020000000e01', role: 'ev' });
  line.setAttenuation(carPlc.mac, chargerPlc.mac, 12);
  const [chargerPilot, carPilot] = [new SimulatedPilot(), new SimulatedPilot()];
  timeline.end(timeline.begin('ev', 'event', 'plug-in: control pilot B, 5 % PWM', {}), 'ok');
  let seccDone!: (output: SeccOutput) => void;
  const seccOutput = new Promise<SeccOutput>((resolve) => (seccDone = resolve));
  const serving = serveOverLink(station, { link: lineTransport(line, chargerPlc), pilot: chargerPilot, onStep: onLink('secc'), onSession: seccDone, renewLeaf: leafSubject });
  const charging = chargeOverLink(ev, { link: lineTransport(line, carPlc), pilot: carPilot, onStep: onLink('ev'), plan: { energyMode: 'DC_extended', targetSoc: 80, loopIntervalMs: 0 } });
  // Plug-in: the charger sees state B and starts 5 % PWM, which the car sees at once.
  chargerPilot.set('B', true);
  carPilot.set('B', true);
  const [secc, charged] = await Promise.allSettled([serving, charging]);
  try {
    if (secc.status === 'rejected') throw secc.reason;
    if (charged.status === 'rejected') throw charged.reason;
    const evOutput = charged.value;
    if (evOutput.outcome !== 'completed') throw new PncError('ChargingFailed', `the charging session ended ${evOutput.outcome}: ${evOutput.reason ?? evOutput.last?.code ?? ''}`);
    return { ev: evOutput, secc: await seccOutput, chargedWh: ev.battery.chargedWh, soc: { from, to: ev.battery.soc } };
  } finally {
    if (secc.status === 'fulfilled') await secc.value.close();
  }
}

/**
 * Process 7 of the story: the car plugs in. The EV (with an empty contract store) and an SECC of
 * the CPO run one ISO 15118-2 Plug&Charge DC session over the in-memory line:
 * CertificateInstallation through the CPO backend, PaymentDetails, signed Authorization, a few
 * seconds of simulated energy, a signed MeteringReceipt, SessionStop. Every V2G message goes on the
 * timeline with its EXI in hex (for `--trace`). SLAC and TLS come in with the link and transport layers.
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
import { duplexPair } from '../transport/duplex-pair.ts';
import type { Timeline } from './timeline.ts';

export interface Charged {
  readonly ev: EvOutput;
  readonly secc: SeccOutput;
  readonly chargedWh: number;
  readonly soc: { readonly from: number; readonly to: number };
}

/** `backend` is the SECC's CPO-backend port: the story passes OCPP 2.0.1 (./ocpp.ts); the CPO's bus subjects otherwise. */
export async function chargeAtStation(timeline: Timeline, bus: Bus, store: Store, vehicle: Vehicle, backend: CpoBackendPort = busCpoBackend(bus)): Promise<Charged> {
  // The timeline shows each message once, as the EV sent or received it.
  const onTimeline = (entry: TraceEntry) => {
    const [who, field] = entry.direction === 'out' ? ['ev', 'exiRequest'] : ['secc', 'exiResponse'];
    timeline.end(timeline.begin(who, 'event', `v2g ${entry.name}`, { [field]: Buffer.from(entry.exi, 'hex').toString('base64') }), 'ok');
  };
  const station = createSeccStation(bus, store, { name: 'story-secc', backend });
  await station.security.ensureLeaf(backend, { commonName: 'SECC-STORY-1', organization: 'Open Plug&Charge CPO' });
  await station.security.refreshOcsp(backend);
  const ev = createEv(store, vehicle, { battery: { soc: 78.5, capacityWh: 60_000 }, trace: onTimeline });
  const from = ev.battery.soc;
  const [charger, car] = duplexPair();
  const [seccOutput, evOutput] = await Promise.all([station.serve(charger), ev.charge(car, { energyMode: 'DC_extended', targetSoc: 80, loopIntervalMs: 0 })]);
  if (evOutput.outcome !== 'completed') throw new PncError('ChargingFailed', `the charging session ended ${evOutput.outcome}: ${evOutput.reason ?? evOutput.last?.code ?? ''}`);
  return { ev: evOutput, secc: seccOutput, chargedWh: ev.battery.chargedWh, soc: { from, to: ev.battery.soc } };
}

/**
 * EV participant: one vehicle as the OEM produced it (PCID, provisioning certificate and key,
 * V2G roots), with a battery model and a contract store. `charge()` runs one session over a
 * connected Duplex; it installs a contract first when it holds no valid one (PnC), renews one that
 * expires within the renewal window by CertificateUpdate, or uses EIM.
 * The provisioning key is the one in the OEM's vehicle record until the OEM signs vehicle-made CSRs.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Bus } from '../../bus/bus.ts';
import { requestSubjectReply, serveSubject } from '../../bus/typed.ts';
import type { ParticipantContext, ParticipantDefinition } from '../../host/participant.ts';
import type { Store } from '../../store/store.ts';
import { evInterface } from '../../../protocols/catalogue/ev.ts';
import type { V2gtpConnection } from '../../transport/v2gtp-connection.ts';
import { produceVehicle, type Vehicle } from '../../story/vehicle.ts';
import type { EvOutput, EvPlan } from '../../../statecharts/ev-session.ts';
import { systemClock, type SessionClock, type TraceEntry } from '../v2g/runner.ts';
import { Battery, type BatteryOptions } from './battery.ts';
import { ContractStore } from './contracts.ts';
import { whenServed } from '../authority.ts';
import { runEvSession } from './session.ts';

export interface EvOptions {
  readonly battery?: BatteryOptions;
  readonly clock?: SessionClock;
  readonly trace?: (entry: TraceEntry) => void;
  /** Publishes each session on `inspect.ev.<PCID>` for the inspector. */
  readonly inspectOn?: Bus;
  /** The EVCCID (MAC of its PLC modem), hex. @default random */
  readonly evccId?: string;
  /** A valid contract that expires within this many days is renewed by CertificateUpdate before charging. @default 30 */
  readonly renewalWindowDays?: number;
}

/** Renew a contract by CertificateUpdate when fewer days than this remain. */
export const CONTRACT_RENEWAL_DAYS = 30;

export interface Ev {
  readonly vehicle: Vehicle;
  readonly battery: Battery;
  readonly contracts: ContractStore;
  /** One charging session over `stream` (or a V2GTP connection from `connectV2gtp`); the plan defaults to ISO-2 (DIN fallback), PnC, DC, to 80 %. */
  charge(stream: Duplex | V2gtpConnection, plan?: Partial<EvPlan>): Promise<EvOutput>;
}

export function createEv(store: Store, vehicle: Vehicle, options: EvOptions = {}): Ev {
  const clock = options.clock ?? systemClock;
  const battery = new Battery(options.battery);
  const contracts = new ContractStore(store, vehicle.pcid, clock.now);
  const evccId = options.evccId ?? randomBytes(6).toString('hex');
  return {
    vehicle, battery, contracts,
    async charge(stream, overrides = {}) {
      const payment = overrides.payment ?? 'Contract';
      const installContract = payment === 'Contract' && !(await contracts.valid());
      const plan: EvPlan = {
        protocols: ['iso2', 'din'], payment, energyMode: 'DC_extended', evccId, targetSoc: 80, pause: false, loopIntervalMs: 250,
        installContract,
        updateContract: payment === 'Contract' && !installContract && (await contracts.renewalDue((options.renewalWindowDays ?? CONTRACT_RENEWAL_DAYS) * 86_400_000)),
        ...overrides,
      };
      const output = await runEvSession(stream, { vehicle, battery, contracts, plan, clock, trace: options.trace, inspectOn: options.inspectOn });
      // A refused or unusable renewal: the next sessions charge with the current contract for a day.
      if (plan.updateContract && !plan.installContract && output.outcome === 'failed' && output.last?.name === 'CertificateUpdateRes') await contracts.updateRefused();
      return output;
    },
  };
}

async function startEv({ bus, store, config }: ParticipantContext) {
  // The vehicle makes its provisioning key and has the OEM sign its CSR [S4].
  const vehicle = await whenServed(() => produceVehicle(bus));
  const ev = createEv(store, vehicle, { inspectOn: bus });
  const subscription = await serveSubject(bus, evInterface.requests.status, async () => {
    const contract = await ev.contracts.valid();
    return { pcid: vehicle.pcid, soc: ev.battery.soc, ...(contract ? { emaid: contract.emaid } : {}) };
  });
  // A lab charge over plain TCP: `openpnc run ev --config connect=HOST:PORT`.
  if (config.connect) {
    const [host, port] = config.connect.split(/:(?=\d+$)/);
    const socket = connect(Number(port), host);
    void ev.charge(socket, { payment: config.payment === 'ExternalPayment' ? 'ExternalPayment' : 'Contract' });
  }
  return { stop: () => subscription.unsubscribe() };
}

export const evParticipant: ParticipantDefinition = {
  name: 'ev',
  summary: 'EV: a vehicle with battery and contract store, charging at SECCs with Plug&Charge or EIM',
  start: startEv,
};

/**
 * CPO backend, what charging stations report through the CSMS edge: B01 BootNotification, G01
 * StatusNotification, J01 MeterValues, N07 NotifyEvent and E01–E15 TransactionEvent. Everything is
 * kept per authenticated station id. A TransactionEvent is kept once per (station, transactionId,
 * seqNo): a station that resends after a lost answer gets the same answer and no second record,
 * which makes delivery exactly-once end to end.
 */
import type { z } from 'zod';
import type { Store, StoredDoc } from '../store/store.ts';
import type { cpoInterface } from '../../protocols/catalogue/cpo.ts';
import type { AuthorizationStatus } from '../../protocols/ocpp/authorization.ts';
import { PncError } from '../../protocols/errors.ts';

type Request<K extends keyof typeof cpoInterface.requests> = z.output<(typeof cpoInterface.requests)[K]['request']>;

/** B01: the heartbeat interval every accepted station gets, in seconds. */
export const HEARTBEAT_INTERVAL_SECONDS = 300;

interface StationDoc extends StoredDoc {
  readonly stationId: string;
  readonly bootedAt: string;
  readonly reason: string;
  readonly chargingStation: Record<string, unknown>;
}

interface ReportDoc extends StoredDoc {
  readonly stationId: string;
  readonly kind: string;
  readonly payload: Record<string, unknown>;
  readonly receivedAt: string;
}

interface TransactionEventDoc extends StoredDoc {
  readonly stationId: string;
  readonly transactionId: string;
  readonly seqNo: number;
  readonly eventType: string;
  readonly idToken?: string;
  readonly event: Record<string, unknown>;
  readonly receivedAt: string;
}

interface AuthorizationDoc extends StoredDoc {
  readonly status: AuthorizationStatus;
  readonly at: string;
}

const key = (...parts: Array<string | number>): string => parts.map((part) => encodeURIComponent(String(part))).join('/');

export class StationRecords {
  private readonly stations;
  private readonly reports;
  private readonly events;
  private readonly authorizations;

  constructor(store: Store, private readonly now: () => Date = () => new Date()) {
    this.stations = store.collection<StationDoc>('cpo.stations');
    this.reports = store.collection<ReportDoc>('cpo.station_reports');
    this.events = store.collection<TransactionEventDoc>('cpo.transaction_events');
    this.authorizations = store.collection<AuthorizationDoc>('cpo.authorizations');
  }

  async start(): Promise<this> {
    await this.events.ensureIndex({ fields: ['stationId'] });
    await this.reports.ensureIndex({ fields: ['stationId'] });
    return this;
  }

  /** B01.FR.01: an authenticated station is Accepted and told its heartbeat interval. */
  async boot({ stationId, reason, chargingStation }: Request<'boot'>) {
    await this.stations.replace({ _id: stationId, stationId, bootedAt: this.now().toISOString(), reason, chargingStation });
    return { status: 'Accepted' as const, interval: HEARTBEAT_INTERVAL_SECONDS };
  }

  async station({ stationId }: Request<'station'>) {
    return { accepted: (await this.stations.get(stationId)) !== undefined };
  }

  async report({ stationId, kind, payload }: Request<'report'>) {
    await this.reports.insert({ _id: key(stationId, kind, crypto.randomUUID()), stationId, kind, payload, receivedAt: this.now().toISOString() });
    return {};
  }

  /** Remembers the outcome of C07 Authorize, so a TransactionEvent with that idToken can be answered. */
  async rememberAuthorization(stationId: string, idToken: string, status: AuthorizationStatus): Promise<void> {
    await this.authorizations.replace({ _id: key(stationId, idToken), status, at: this.now().toISOString() });
  }

  /** E01–E15: kept once per (station, transaction, seqNo); E03.FR.01 idTokenInfo for the token the station authorized. */
  async transactionEvent(request: Request<'transactionEvent'>) {
    const { stationId, transactionId, seqNo, eventType, idToken, event } = request;
    let duplicate = false;
    try {
      await this.events.insert({
        _id: key(stationId, transactionId, seqNo), stationId, transactionId, seqNo, eventType, event, receivedAt: this.now().toISOString(),
        ...(idToken ? { idToken: idToken.idToken } : {}),
      });
    } catch (error) {
      if (!PncError.is(error, 'DuplicateKey')) throw error;
      duplicate = true;
    }
    if (!idToken) return { duplicate };
    const authorized = await this.authorizations.get(key(stationId, idToken.idToken));
    return { duplicate, idTokenInfo: { status: authorized?.status ?? 'Unknown' } };
  }

  async transactions({ stationId, transactionId }: Request<'transactions'>) {
    const docs = await this.events.find({ stationId, ...(transactionId ? { transactionId } : {}) });
    docs.sort((a, b) => a.transactionId.localeCompare(b.transactionId) || a.seqNo - b.seqNo);
    return { events: docs.map(({ transactionId, seqNo, eventType, idToken, receivedAt }) => ({ transactionId, seqNo, eventType, receivedAt, ...(idToken ? { idToken } : {}) })) };
  }
}

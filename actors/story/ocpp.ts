/**
 * The story's charger talks to its CPO backend as a real one does: OCPP 2.0.1 over a WebSocket to
 * the CSMS edge (security profile 2: TLS under the CSMS root, Basic auth with a password the CSMS
 * made), on an ephemeral localhost port. Each OCPP-J frame goes on the timeline: station calls as
 * `secc → ocpp <Action>`, CSMS calls as `csms → ocpp <Action>`, answered by the matching
 * CALLRESULT / CALLERROR; `--trace` keeps the frames whole.
 */
import type { Bus } from '../bus/bus.ts';
import { createLogger } from '../host/log.ts';
import type { Store } from '../store/store.ts';
import { startCsms } from '../ocpp/csms.ts';
import { ChargingStation, type OcppFrame } from '../ocpp/station.ts';
import { ocppCpoBackend } from '../participants/secc/ocpp-backend.ts';
import type { CpoBackendPort } from '../participants/secc/backend.ts';
import type { Timeline, TimelineEntry } from './timeline.ts';

export const STORY_STATION_ID = 'CS-STORY-1';

export interface StoryOcpp {
  readonly backend: CpoBackendPort;
  readonly csmsUrl: string;
  /** Waits for the station's transaction outbox to be sent, then closes station and CSMS. */
  stop(): Promise<void>;
}

/** Puts each OCPP-J frame of one station connection on the timeline, a CALL and its answer as one step. */
function frameRecorder(timeline: Timeline): (frame: OcppFrame) => void {
  const open = new Map<string, TimelineEntry>();
  return ({ outbound, frame }) => {
    if (!Array.isArray(frame) || typeof frame[1] !== 'string') return;
    const [type, messageId] = frame as [number, string];
    // The station's outbound calls and the CSMS's inbound ones share id space only per direction.
    const key = (callOutbound: boolean) => `${callOutbound ? 'station' : 'csms'}:${messageId}`;
    if (type === 2) {
      const entry = timeline.begin(outbound ? 'secc' : 'csms', 'request', `ocpp ${String(frame[2])}`, frame[3]);
      entry.frames = [frame];
      open.set(key(outbound), entry);
      return;
    }
    const entry = open.get(key(!outbound));
    if (!entry) return;
    open.delete(key(!outbound));
    entry.frames = [...(entry.frames ?? []), frame];
    if (type === 3) timeline.end(entry, 'ok', frame[2]);
    else timeline.end(entry, `CALLERROR ${String(frame[2])}`);
  };
}

/**
 * Starts the CSMS edge in front of the CPO participant on `bus`, registers the story's station for
 * security profile 2, connects and boots it, and has the CSMS install the RCP's roots on it (M05).
 */
export async function startStoryOcpp(timeline: Timeline, bus: Bus, store: Store): Promise<StoryOcpp> {
  const quiet = createLogger({ write: () => {} });
  const csms = await startCsms({ bus: timeline.busFor('csms', bus), store, log: quiet, port: 0, host: '127.0.0.1' });
  let station: ChargingStation | undefined;
  try {
    const { password } = await csms.credentials.add(STORY_STATION_ID);
    station = new ChargingStation({
      url: csms.url, stationId: STORY_STATION_ID, password, tls: { ca: csms.caCertificate }, store, log: quiet,
      deviceModel: { SeccId: 'SECC-STORY-1' }, backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    station.on('frame', frameRecorder(timeline));
    await station.start();
    await csms.installRoots(STORY_STATION_ID);
  } catch (error) {
    await station?.stop();
    await csms.close();
    throw error;
  }
  const connected = station;
  return {
    backend: ocppCpoBackend(connected),
    csmsUrl: csms.url,
    async stop() {
      // The outbox is durable, so a stop never loses an event; the story waits a while so the CSMS has them all.
      const drained = new Promise((resolve) => connected.once('queueDrained', resolve));
      let timer: NodeJS.Timeout | undefined;
      if (await connected.pendingCount()) await Promise.race([drained, new Promise((resolve) => { timer = setTimeout(resolve, 10_000); })]);
      clearTimeout(timer);
      await connected.stop();
      await csms.close();
    },
  };
}

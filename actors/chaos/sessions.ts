/**
 * Charging sessions as chaos load: vehicles the OEM produced charge at the SECC process over TCP
 * (EIM, DC), pause, and after the faults come back and resume by their SessionID ([V2G2-740]: a
 * paused session is joined with its SessionID in SessionSetupReq). Every session started is
 * accounted for: resumed and completed, or ended with a named outcome, or hanging past the quiet period.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Bus } from '../bus/bus.ts';
import { createEv, type Ev } from '../participants/ev/index.ts';
import { openEmbeddedStore } from '../store/index.ts';
import type { Store } from '../store/store.ts';
import { produceVehicle } from '../story/vehicle.ts';
import { toPncError } from '../../protocols/errors.ts';
import type { EvOutput } from '../../statecharts/ev-session.ts';
import { systemClock, type SessionClock } from '../participants/v2g/runner.ts';

export interface SessionTally {
  readonly started: number;
  readonly paused: number;
  /** Resumed by their own SessionID and charged to the end. */
  readonly resumed: number;
  /** Ended otherwise, each with its outcome and reason. */
  readonly ended: readonly string[];
  /** No answer within the quiet period. */
  readonly hanging: number;
  /** Where each hanging session stopped: `pause|resume after <last message>`. */
  readonly hangingAfter: readonly string[];
}

interface Charging {
  readonly ev: Ev;
  /** The last V2G message the vehicle sent or received: where a hanging session stopped. */
  last?: string;
  paused?: EvOutput;
  resumed?: EvOutput;
  failure?: string;
}

/**
 * The vehicles' clock runs this many times slower than the wall: the EVCC message timeouts (250 ms for
 * a CurrentDemandRes) would measure the shared machine's load, which is not what a kill -9 scenario tests.
 */
const VEHICLE_CLOCK_SLOWDOWN = 5;
const CHARGING_LOOPS = 4;

function slowedClock(): SessionClock {
  const origin = systemClock.now();
  return {
    now: () => origin + (systemClock.now() - origin) / VEHICLE_CLOCK_SLOWDOWN,
    setTimeout: (callback, ms) => systemClock.setTimeout(callback, ms * VEHICLE_CLOCK_SLOWDOWN),
    clearTimeout: (handle) => systemClock.clearTimeout(handle),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A TCP connection to the SECC, tried again while it is down (killed and not yet listening). */
async function connectToSecc(port: number, untilMs: number): Promise<Socket> {
  for (;;) {
    const socket = connect(port, '127.0.0.1');
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (connected) return socket;
    socket.destroy();
    if (Date.now() > untilMs) throw new Error(`the SECC on port ${port} did not accept a connection`);
    await sleep(200);
  }
}

/** Resolves with the session's output, or undefined when it has not ended within `ms` (it hangs). */
function within(session: Promise<EvOutput>, ms: number): Promise<EvOutput | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([session, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() => clearTimeout(timer));
}

export interface SessionLoad {
  /** Resolves when every session has charged and paused (or failed trying). */
  readonly allPaused: Promise<void>;
  /** Resumes every paused session by its SessionID and tallies how each ended. */
  resume(quietMs: number): Promise<SessionTally>;
  close(): Promise<void>;
}

/** Starts `count` sessions against the SECC on 127.0.0.1:`port`; the vehicles come from the OEM over `bus`. */
export function startSessionLoad(bus: Bus, options: { count: number; port: number; workDir: string; patiently: <T>(step: () => Promise<T>) => Promise<T>; quietMs: number }): SessionLoad {
  const sessions: Charging[] = [];
  let store: Store | undefined;
  // A few CurrentDemand loops, then stop: a state-of-charge target would make a session's length depend on
  // how many loops the machine manages per (slowed) second.
  const plan = { payment: 'ExternalPayment' as const, loopIntervalMs: 0, targetSoc: 100, stopAfterLoops: CHARGING_LOOPS };
  const allPaused = (async () => {
    store = await openEmbeddedStore(join(options.workDir, 'vehicles'));
    const vehicleStore = store;
    await Promise.all(Array.from({ length: options.count }, async () => {
      const vehicle = await options.patiently(() => produceVehicle(bus));
      const charging = { last: 'nothing' } as Charging;
      Object.assign(charging, { ev: createEv(vehicleStore, vehicle, { battery: { soc: 40, capacityWh: 60_000 }, clock: slowedClock(), trace: (entry) => (charging.last = `${entry.direction === 'out' ? 'sent' : 'received'} ${entry.name}`) }) });
      sessions.push(charging);
      try {
        const socket = await connectToSecc(options.port, Date.now() + options.quietMs);
        const output = await within(charging.ev.charge(socket, { ...plan, pause: true }), options.quietMs);
        if (!output) charging.failure = `hanging before the pause, ${charging.last}`;
        else if (output.outcome !== 'paused') charging.failure = `${output.outcome} before the pause: ${output.reason ?? output.last?.code ?? ''}`;
        else charging.paused = output;
      } catch (error) {
        charging.failure = `failed before the pause: ${toPncError(error).message}`;
      }
    }));
  })();
  return {
    allPaused,
    async resume(quietMs) {
      await allPaused;
      const hangingAfter: string[] = [];
      await Promise.all(sessions.filter((charging) => charging.paused).map(async (charging) => {
        try {
          const socket = await connectToSecc(options.port, Date.now() + quietMs);
          const output = await within(charging.ev.charge(socket, { ...plan, resumeSessionId: charging.paused!.sessionId }), quietMs);
          if (!output) hangingAfter.push(`resume: ${charging.last}`);
          else charging.resumed = output;
        } catch (error) {
          charging.failure = `resume failed: ${toPncError(error).message}`;
        }
      }));
      const resumed = sessions.filter((charging) => charging.resumed?.outcome === 'completed' && charging.resumed.joinedOldSession && charging.resumed.sessionId === charging.paused!.sessionId);
      const ended = sessions.filter((charging) => !resumed.includes(charging) && !charging.failure?.startsWith('hanging') && (charging.failure || charging.resumed)).map((charging) => charging.failure ?? `${charging.resumed!.outcome} (joined its session: ${charging.resumed!.joinedOldSession}): ${charging.resumed!.reason ?? charging.resumed!.last?.code ?? ''}`);
      return { started: sessions.length, paused: sessions.filter((charging) => charging.paused).length, resumed: resumed.length, ended, hanging: hangingAfter.length + sessions.filter((charging) => charging.failure?.startsWith('hanging')).length,
        hangingAfter: [...hangingAfter, ...sessions.filter((charging) => charging.failure?.startsWith('hanging')).map((charging) => charging.failure!)] };
    },
    async close() {
      await allPaused.catch(() => {});
      await store?.close();
    },
  };
}

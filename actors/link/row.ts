/**
 * A row of chargers side by side on one in-memory power line, each with an EV plugged in: the
 * scenario of the cross-talk test, `bench:slac` and `openpnc slac sim`. EV i's own charger is at a
 * low attenuation, its neighbours' chargers at higher ones (cross-talk), farther ones unheard.
 */
import type { SlacTimers } from '../../statecharts/slac-common.ts';
import { SimClock } from './clock.ts';
import { SimulatedPilot } from './port.ts';
import { PowerLine } from './powerline.ts';
import { SlacStation } from './station.ts';

/** xorshift32 in [0, 1): reproducible runs from a seed. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

export interface RowOptions {
  readonly size: number;
  readonly lossRate?: number;
  readonly delayMs?: number;
  readonly seed?: number;
  /** Plug-ins are spread uniformly over this window (ms of simulated time). */
  readonly plugWindowMs?: number;
  readonly timers?: Partial<SlacTimers>;
}

export interface Plug {
  readonly ev: SlacStation;
  readonly evse: SlacStation;
  readonly pluggedAt: number;
  matchedAt?: number;
  upAt?: number;
  /** The charger the EV matched with. */
  matchedEvse?: string;
}

const mac = (kind: number, i: number) => `02${kind.toString(16).padStart(2, '0')}00${i.toString(16).padStart(6, '0')}`;

export function chargerRow(options: RowOptions) {
  const { size } = options;
  const clock = new SimClock();
  const random = seededRandom(options.seed ?? 15118);
  const line = new PowerLine({ clock, lossRate: options.lossRate ?? 0, delayMs: options.delayMs ?? 1, random });
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  const chargers = Array.from({ length: size }, (_, i) => line.addStation({ mac: mac(0xc0, i), role: 'evse' }));
  const evs = Array.from({ length: size }, (_, i) => line.addStation({ mac: mac(0xe0, i), role: 'ev' }));
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  for (let i = 0; i < size; i++) {
    line.setAttenuation(evs[i].mac, chargers[i].mac, between(8, 20));
    for (const [d, lo, hi] of [[1, 26, 36], [2, 42, 55]] as const) {
      for (const j of [i - d, i + d]) if (j >= 0 && j < size) line.setAttenuation(evs[i].mac, chargers[j].mac, between(lo, hi));
    }
    if (i + 1 < size) {
      line.setAttenuation(chargers[i].mac, chargers[i + 1].mac, between(30, 40));
      line.setAttenuation(evs[i].mac, evs[i + 1].mac, between(30, 40));
    }
  }
  const window = options.plugWindowMs ?? 1000;
  const plugs: Plug[] = [];
  /** EVs neither linked up nor failed yet (checked after every simulated event, so kept as a count). */
  let unsettled = size;
  for (let i = 0; i < size; i++) {
    const evPilot = new SimulatedPilot();
    const evsePilot = new SimulatedPilot();
    const evse = new SlacStation({ role: 'evse', port: chargers[i].port, clock, pilot: evsePilot, timers: options.timers, random: bytes }).start();
    const ev = new SlacStation({ role: 'ev', port: evs[i].port, clock, pilot: evPilot, timers: options.timers, random: bytes }).start();
    const plug: Plug = { ev, evse, pluggedAt: Math.floor(random() * window) };
    ev.on('matched', (m) => { plug.matchedAt ??= clock.now(); plug.matchedEvse = m.evseMac; });
    ev.on('up', () => { if (plug.upAt === undefined) { plug.upAt = clock.now(); unsettled--; } });
    ev.on('failed', () => { if (plug.upAt === undefined) unsettled--; });
    // Plug-in: the charger sees state B and starts 5 % PWM, which the EV sees at once.
    clock.at(plug.pluggedAt, () => { evsePilot.set('B', true); evPilot.set('B', true); });
    plugs.push(plug);
  }
  return {
    clock, line, plugs, chargers, evs,
    /** Runs the simulation until every EV is linked up or has failed, or `limitMs` of simulated time. */
    settle(limitMs: number): boolean { return clock.runWhile(() => unsettled > 0, limitMs); },
    stop() { for (const p of plugs) { p.ev.stop(); p.evse.stop(); } },
  };
}

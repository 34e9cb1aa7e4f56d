// Drives a SLAC machine by hand with an injected clock: frames in, ticks at the machine's own
// deadlines, deterministic entropy; records what it transmits and emits.
import { createActor } from 'xstate';
import { encodeSlacFrame, decodeSlacFrame, nidFromNmk, type SlacMessage } from '../../protocols/slac/index.ts';
import type { SlacEmitted, SlacInputEvent } from '../../statecharts/slac-common.ts';
import type { slacEvMachine } from '../../statecharts/slac-ev.ts';
import type { slacEvseMachine } from '../../statecharts/slac-evse.ts';

/** What the driver needs of either machine's actor. */
interface SlacActor {
  send(event: SlacInputEvent): void;
  on(type: '*', listener: (event: SlacEmitted) => void): unknown;
  start(): void;
  stop(): void;
  getSnapshot(): { context: unknown; value: unknown; hasTag(tag: string): boolean };
}

export interface Sent { at: number; destination: string; message: SlacMessage }

export function drive(machine: typeof slacEvMachine | typeof slacEvseMachine, input: unknown, nextDeadline: (context: never) => number | undefined) {
  const actor = createActor(machine as typeof slacEvMachine, { input: input as never }) as unknown as SlacActor;
  let now = 0;
  let entropyCount = 0;
  const sent: Sent[] = [];
  const emitted: (SlacEmitted & { at: number })[] = [];
  actor.on('*', (event: SlacEmitted) => {
    emitted.push({ ...event, at: now });
    if (event.type === 'transmit') sent.push({ at: now, destination: event.destination, message: event.message });
    if (event.type === 'needEntropy') {
      entropyCount++;
      const nmk = entropyCount.toString(16).padStart(2, '0').repeat(16);
      queueMicrotask(() => actor.send({ type: 'entropy', now, runId: `0${entropyCount}`.slice(-2).repeat(8), nmk, nid: nidFromNmk(nmk) }));
    }
  });
  actor.start();
  const api = {
    actor: actor as unknown as { getSnapshot(): { context: Record<string, never> & { sessions: Record<string, unknown> } }; send(e: SlacInputEvent): void },
    sent, emitted,
    get now() { return now; },
    /** Lets queued entropy answers arrive. */
    async settle() { for (let i = 0; i < 3; i++) await Promise.resolve(); },
    /** A frame from `source`, re-encoded and decoded as on a wire. */
    async receive(source: string, message: SlacMessage, destination = 'ffffffffffff') {
      const frame = decodeSlacFrame(encodeSlacFrame(message, { source, destination }));
      actor.send({ type: 'frame', now, frame });
      await api.settle();
    },
    async pilot(state: 'A' | 'B' | 'C' | 'D' | 'E' | 'F', pwm5 = true) {
      actor.send({ type: 'pilot', now, state, pwm5 });
      await api.settle();
    },
    /** Advances the clock to `until`, sending a tick at every deadline that falls on the way. */
    async advance(ms: number) {
      const until = now + ms;
      for (let guard = 0; guard < 10_000; guard++) {
        const next = nextDeadline(actor.getSnapshot().context as never);
        if (next === undefined || next > until) break;
        now = Math.max(now, next);
        actor.send({ type: 'tick', now });
        await api.settle();
      }
      now = until;
    },
    types: (from = 0) => sent.filter((s) => s.at >= from).map((s) => s.message.type),
    steps: () => emitted.filter((e) => e.type === 'step').map((e) => (e as { text: string }).text),
    last<T extends SlacMessage['type']>(type: T) {
      const hit = [...sent].reverse().find((s) => s.message.type === type);
      return hit as (Sent & { message: Extract<SlacMessage, { type: T }> }) | undefined;
    },
    hasTag: (tag: string) => actor.getSnapshot().hasTag(tag),
    value: () => actor.getSnapshot().value as string,
    stop: () => actor.stop(),
  };
  return api;
}

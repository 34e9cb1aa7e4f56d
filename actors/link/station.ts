/**
 * A SLAC station: runs the EV or EVSE machine on a FramePort, a LinkClock and a ControlPilot. It decodes
 * frames (a bad frame is counted and skipped, never fatal), encodes what the machine transmits,
 * answers its requests for randomness, sends a tick at the machine's next deadline, and tells its
 * owner (the SECC or EV actor, the CLI) when the link is up or down and which IPv6 link-local
 * addresses the TLS side will use. Decisions stay in the machines.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createActor } from 'xstate';
import { PncError } from '../../protocols/errors.ts';
import { BROADCAST_MAC, SlacCodecError, decodeSlacFrame, encodeSlacFrame, linkLocalFromMac, nidFromNmk } from '../../protocols/slac/index.ts';
import type { Matched, SlacEmitted, SlacInputEvent, SlacTimers } from '../../statecharts/slac-common.ts';
import { evNextDeadline, slacEvMachine } from '../../statecharts/slac-ev.ts';
import { evseNextDeadline, slacEvseMachine } from '../../statecharts/slac-evse.ts';
import type { LinkClock } from './clock.ts';
import type { ControlPilot, FramePort } from './port.ts';

export type SlacRole = 'ev' | 'evse';

export interface LinkUp {
  readonly matched: Matched;
  /** Our own IPv6 link-local address (EUI-64 of the host MAC) and the peer's. */
  readonly linkLocal: string;
  readonly peerLinkLocal: string;
  readonly peerMac: string;
}

export interface StationOptions {
  readonly role: SlacRole;
  readonly port: FramePort;
  readonly clock: LinkClock;
  readonly pilot: ControlPilot;
  readonly timers?: Partial<SlacTimers>;
  readonly maxSessions?: number;
  /** Randomness for RunIDs and keys; the default is node:crypto. Simulations pass a seeded one. */
  readonly random?: (bytes: number) => Uint8Array;
}

interface StationEvents {
  step: [text: string];
  matched: [matched: Matched];
  up: [up: LinkUp];
  down: [reason: string];
  failed: [error: PncError];
}

interface MachineActor {
  send(event: SlacInputEvent): void;
  on(type: '*', listener: (event: SlacEmitted) => void): unknown;
  subscribe(listener: (snapshot: { context: unknown }) => void): { unsubscribe(): void };
  start(): void;
  stop(): void;
  getSnapshot(): { context: unknown; hasTag(tag: string): boolean; value: unknown };
}

export class SlacStation extends EventEmitter<StationEvents> {
  readonly mac: string;
  readonly role: SlacRole;
  /** Frames that could not be decoded (hostile or broken input is normal input). */
  badFrames = 0;
  /** Frames the adapter could not send. */
  sendErrors = 0;
  private readonly actor: MachineActor;
  private readonly nextDeadline: (context: never) => number | undefined;
  private cancelTick?: () => void;
  private tickAt?: number;
  private readonly unsubscribe: (() => void)[] = [];
  private stopped = false;
  private current?: LinkUp;

  constructor(private readonly options: StationOptions) {
    super();
    this.mac = options.port.mac;
    this.role = options.role;
    const input = { timers: options.timers };
    this.actor = (options.role === 'ev'
      ? createActor(slacEvMachine, { input: { ...input, evMac: this.mac } })
      : createActor(slacEvseMachine, { input: { ...input, evseMac: this.mac, maxSessions: options.maxSessions } })) as unknown as MachineActor;
    this.nextDeadline = (options.role === 'ev' ? evNextDeadline : evseNextDeadline) as (context: never) => number | undefined;
    this.actor.on('*', (event) => this.onEmitted(event));
    this.actor.subscribe((snapshot) => this.schedule(snapshot.context));
  }

  start(): this {
    this.actor.start();
    this.unsubscribe.push(this.options.port.onFrame((bytes) => this.onBytes(bytes)));
    const pilot = this.options.pilot;
    this.unsubscribe.push(pilot.onChange((r) => this.send({ type: 'pilot', now: this.now(), state: r.state, pwm5: r.pwm5 })));
    const reading = pilot.read();
    // The machines start as if in state A; tell them only about something else.
    if (reading.state !== 'A') this.send({ type: 'pilot', now: this.now(), state: reading.state, pwm5: reading.pwm5 });
    return this;
  }

  /** The link as the owner sees it: undefined until the modems joined. */
  get link(): LinkUp | undefined {
    return this.current;
  }

  hasTag(tag: 'busy' | 'waiting' | 'matching' | 'matched' | 'failed'): boolean {
    return this.actor.getSnapshot().hasTag(tag);
  }

  /** The adapter lost the interface or modem. */
  linkLost(): void {
    this.send({ type: 'link.lost', now: this.now() });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTick?.();
    for (const u of this.unsubscribe) u();
    this.actor.stop();
  }

  private now(): number {
    return this.options.clock.now();
  }

  private send(event: SlacInputEvent): void {
    if (!this.stopped) this.actor.send(event);
  }

  private onBytes(bytes: Uint8Array): void {
    let frame;
    try {
      frame = decodeSlacFrame(bytes);
    } catch (error) {
      if (!(error instanceof SlacCodecError)) throw error;
      this.badFrames++;
      return;
    }
    if (frame.message.type === 'Unknown') return;
    if (frame.destination !== this.mac && frame.destination !== BROADCAST_MAC) return;
    if (frame.source === this.mac) return;
    this.send({ type: 'frame', now: this.now(), frame });
  }

  private schedule(context: unknown): void {
    if (this.stopped) return;
    const at = this.nextDeadline(context as never);
    if (at === this.tickAt) return;
    this.cancelTick?.();
    this.tickAt = at;
    this.cancelTick = at === undefined ? undefined : this.options.clock.at(at, () => {
      this.tickAt = undefined;
      this.cancelTick = undefined;
      this.send({ type: 'tick', now: this.now() });
    });
  }

  private random(n: number): string {
    return Buffer.from(this.options.random ? this.options.random(n) : randomBytes(n)).toString('hex');
  }

  private onEmitted(event: SlacEmitted): void {
    switch (event.type) {
      case 'transmit':
        try {
          this.options.port.send(encodeSlacFrame(event.message, { destination: event.destination, source: this.mac }));
        } catch (error) {
          // A failed send is a lost frame to the machine (its timers retry); the owner hears of it.
          this.sendErrors++;
          this.emit('step', `send failed: ${(error as Error).message}`);
        }
        break;
      case 'needEntropy': {
        const nmk = this.random(16);
        this.send({ type: 'entropy', now: this.now(), runId: this.random(8), nmk, nid: nidFromNmk(nmk) });
        break;
      }
      case 'pilotRequest':
        this.options.pilot.request?.(event.state);
        break;
      case 'matched':
        this.emit('matched', event.matched);
        break;
      case 'linkUp': {
        const peerMac = this.role === 'ev' ? event.matched.evseMac : event.matched.evMac;
        this.current = { matched: event.matched, linkLocal: linkLocalFromMac(this.mac), peerLinkLocal: linkLocalFromMac(peerMac), peerMac };
        this.emit('up', this.current);
        break;
      }
      case 'linkDown':
        this.current = undefined;
        this.emit('down', event.reason);
        break;
      case 'failed':
        this.emit('failed', new PncError(event.code, event.message, { retryable: event.retryable }));
        break;
      case 'step':
        this.emit('step', event.text);
        break;
    }
  }
}

/**
 * What the SECC and the EV runner share: driving a session machine's deadlines with one timer
 * (statecharts keep them as absolute times in context), an injectable clock, and the EXI trace.
 */
import type { AnyActorRef } from 'xstate';
import { PncError } from '../../../protocols/errors.ts';
import { decodeExi } from '../../../protocols/exi/index.ts';
import { earliestDeadline } from '../../../statecharts/deadlines.ts';
import { machineName, type SessionProtocol } from '../../../statecharts/secc/messages.ts';
import { TransportError } from '../../transport/errors.ts';
import { systemClock, type WallClock } from '../../transport/timers.ts';
import type { V2gtpConnection } from '../../transport/v2gtp-connection.ts';

/** Wall clock and timers, injectable so tests can run a session past its timeouts without waiting. */
export type SessionClock = WallClock;
export { systemClock };

/** One EXI message as it crossed the wire, for `--trace` and the story's timeline. */
export interface TraceEntry {
  readonly side: 'secc' | 'ev';
  readonly direction: 'in' | 'out';
  readonly name: string;
  readonly exi: string;
}

/** A trace listener; one with `listening` is asked before each message whether it wants it now. */
export type TraceHook = ((entry: TraceEntry) => void) & { listening?: () => boolean };

/**
 * The trace hook of a session: hex-encodes a message only when someone listens (the charging loop
 * pays nothing for a trace no one reads).
 */
export function tracer(side: TraceEntry['side'], ...hooks: (TraceHook | undefined)[]): (direction: TraceEntry['direction'], name: string, exi: Uint8Array) => void {
  const present = hooks.filter((hook): hook is TraceHook => hook !== undefined);
  if (present.length === 0) return () => {};
  return (direction, name, exi) => {
    let entry: TraceEntry | undefined;
    for (const hook of present) {
      if (hook.listening && !hook.listening()) continue;
      entry ??= { side, direction, name, exi: Buffer.from(exi).toString('hex') };
      hook(entry);
    }
  };
}

/**
 * Keeps one timer on the earliest deadline in the actor's context and sends `deadline.<name>` when
 * it passes. A deadline moved later (every answer pushes V2G_SECC_Sequence_Timeout on) keeps the
 * armed timer, which re-checks when it fires: no clearTimeout/setTimeout per message in the
 * charging loop. Returns a function that stops it.
 */
export function driveDeadlines(actor: AnyActorRef, clock: SessionClock): () => void {
  let handle: unknown;
  let armedAt: number | undefined;
  const earliest = () => earliestDeadline(actor.getSnapshot().context);
  const disarm = () => {
    if (handle !== undefined) clock.clearTimeout(handle);
    handle = undefined;
    armedAt = undefined;
  };
  const fire = () => {
    handle = undefined;
    armedAt = undefined;
    if (actor.getSnapshot().status !== 'active') return;
    const next = earliest();
    if (next && next.at <= clock.now()) actor.send({ type: `deadline.${next.name}`, at: next.at });
    arm();
  };
  const arm = () => {
    if (actor.getSnapshot().status !== 'active') return stop();
    const next = earliest();
    if (!next) return disarm();
    if (armedAt !== undefined && armedAt <= next.at) return;
    disarm();
    armedAt = next.at;
    handle = clock.setTimeout(fire, Math.max(0, next.at - clock.now()));
  };
  const subscription = actor.subscribe({ next: arm, error: () => stop(), complete: () => stop() });
  function stop() {
    disarm();
    subscription?.unsubscribe();
  }
  arm();
  return stop;
}

/** One decoded frame: the handshake document, or a V2G_Message with its one body element. */
export type DecodedFrame =
  | { readonly kind: 'app'; readonly root: string; readonly content: Record<string, unknown> }
  | { readonly kind: 'v2g'; readonly wire: string; readonly name: string; readonly header: Record<string, unknown>; readonly content: Record<string, unknown> };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decodes a V2GTP payload: the app handshake until a protocol is agreed, then that protocol's
 * V2G_Message; `name` is the ISO 15118-2 name of the body element (DIN's translated).
 * @throws ExiDecodeError or PncError `ExiInvalid`
 */
export function decodeFrame(protocol: SessionProtocol | undefined, payload: Uint8Array): DecodedFrame {
  if (!protocol) {
    const { document } = decodeExi('app', payload);
    const [root] = Object.keys(document);
    const content = (document as Record<string, unknown>)[root];
    if (!isObj(content)) throw new PncError('ExiInvalid', 'an empty handshake document');
    return { kind: 'app', root, content };
  }
  const { document } = decodeExi(protocol, payload);
  const message = (document as Record<string, unknown>).V2G_Message;
  const body = isObj(message) ? message.Body : undefined;
  const wire = isObj(body) ? Object.keys(body)[0] : undefined;
  if (!isObj(message) || !isObj(message.Header) || !isObj(body) || wire === undefined) throw new PncError('ExiInvalid', 'a V2G_Message without a body element');
  return { kind: 'v2g', wire, name: machineName(protocol, wire), header: message.Header, content: isObj(body[wire]) ? body[wire] : {} };
}

/**
 * Runs a session actor over a V2GTP connection: frames go to `onFrame` (a decoding failure
 * becomes a `garbage` event), the connection's end becomes `transport.closed`, deadlines are
 * driven by the clock. Resolves with the actor's output, or `onCrash(error)` if it errs.
 */
export function runOverConnection<Output>(
  actor: AnyActorRef,
  connection: V2gtpConnection,
  clock: SessionClock,
  onFrame: (payload: Uint8Array) => void,
  onCrash: (error: Error) => Output,
): Promise<Output> {
  const stopDeadlines = driveDeadlines(actor, clock);
  const done = new Promise<Output>((resolve) => {
    actor.subscribe({
      complete: () => resolve(actor.getSnapshot().output as Output),
      error: (error) => {
        connection.fail(new TransportError('ConnectionClosed', `session failed: ${(error as Error).message}`));
        resolve(onCrash(error as Error));
      },
    });
  });
  actor.start();
  connection.on('frame', (frame) => {
    if (actor.getSnapshot().status !== 'active') return;
    try {
      onFrame(frame.payload);
    } catch (error) {
      actor.send({ type: 'garbage', reason: `undecodable message: ${(error as Error).message}` });
    }
  });
  connection.on('close', () => {
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'transport.closed' });
  });
  return done.finally(() => {
    stopDeadlines();
    actor.stop();
    if (!connection.isClosed) connection.end();
  });
}

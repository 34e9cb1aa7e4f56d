/**
 * What a participant module (actors/participants/<name>.ts) exports so the CLI can host it.
 * `openpnc run <name…>` starts the named ones; `openpnc start` starts every registered one.
 */
import type { Bus } from '../bus/bus.ts';
import type { Store } from '../store/store.ts';
import type { KeyEncryptionKey } from './kek.ts';
import type { WallClock } from '../transport/timers.ts';

export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface ParticipantContext {
  readonly bus: Bus;
  readonly store: Store;
  readonly log: Logger;
  /** Directory for files the participant keeps outside the store (for example key material). */
  readonly dataDir: string;
  /** Participant-specific settings from the command line or a deploy file. */
  readonly config: Readonly<Record<string, string>>;
  /** Seals CA private keys at rest (actors/host/kek.ts); the hosts always give one. */
  readonly kek?: KeyEncryptionKey;
  /** What fires the participant's deadlines and dates its effects; a test passes its own. @default the system clock */
  readonly clock?: WallClock;
}

export interface RunningParticipant {
  stop(): Promise<void>;
}

export interface ParticipantDefinition {
  /** Lower-case id used on the command line and in subjects: `v2g-root`, `oem`, `rcp`, `pcp`, `mo`, `cps`, `ccp`, `cpo`, … */
  readonly name: string;
  readonly summary: string;
  start(context: ParticipantContext): Promise<RunningParticipant>;
}

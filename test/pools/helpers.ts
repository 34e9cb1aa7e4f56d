// Test helper: the embedded defaults (memory bus + embedded SQLite store in a temp dir) and a logger
// that keeps its lines, for the pool and OPCP suites.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '../../actors/bus/memory.ts';
import { openEmbeddedStore } from '../../actors/store/index.ts';
import type { Bus } from '../../actors/bus/bus.ts';
import type { Store } from '../../actors/store/store.ts';
import type { Logger } from '../../actors/host/participant.ts';
import { LocalIdentities } from '../../actors/bus/identity.ts';
import { participantHandle } from '../../actors/host/credentials.ts';
import type { Caller } from '../../protocols/catalogue/caller.ts';

export interface Embedded {
  readonly dir: string;
  readonly store: Store;
  /** The pools' own handle (identity `pool`): start pools on it. */
  readonly bus: Bus;
  /** A handle that signs as `caller` (the in-process identities, actors/bus/identity.ts). */
  as(caller: Caller): Bus;
  /** The handle the host would give participant `name` (its role and default prefixes). */
  participant(name: string): Bus;
  /** The OPCP gateway's handle: may act for the token's identity. */
  readonly gatewayBus: Bus;
  readonly log: Logger & { lines: { level: string; event: string; fields?: Record<string, unknown> }[] };
  /** Closes bus and store; with `keepDir` the data directory survives (restart tests). */
  close(keepDir?: boolean): Promise<void>;
}

export function memoryLogger(): Embedded['log'] {
  const lines: Embedded['log']['lines'] = [];
  const make = (base: Record<string, unknown>): Embedded['log'] => ({
    lines,
    info: (event, fields) => void lines.push({ level: 'info', event, fields: { ...base, ...fields } }),
    warn: (event, fields) => void lines.push({ level: 'warn', event, fields: { ...base, ...fields } }),
    error: (event, fields) => void lines.push({ level: 'error', event, fields: { ...base, ...fields } }),
    child: (fields) => make({ ...base, ...fields }),
  });
  return make({});
}

/** Opens the embedded store in `dir` (a fresh temp dir when omitted) and a memory bus over it. */
export async function openEmbedded(dir = mkdtempSync(join(tmpdir(), 'openpnc-pools-'))): Promise<Embedded> {
  const store = await openEmbeddedStore(dir);
  const log = memoryLogger();
  const raw = createMemoryBus({ store, log });
  const identities = new LocalIdentities();
  const bus = identities.handle(raw, 'pool', { role: 'pool', prefixes: [] });
  return {
    dir,
    store,
    bus,
    as: (caller) => identities.handle(raw, `${caller.role}-${caller.prefixes.join('-').toLowerCase()}`, caller),
    participant: (name) => participantHandle(identities, raw, name),
    gatewayBus: identities.gateway(raw),
    log,
    async close(keepDir = false) {
      await bus.close();
      await store.close();
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects every event published on `subject` from now on; `next` waits for one that matches. */
export async function collectEvents<T>(bus: Bus, subject: string) {
  const events: T[] = [];
  const waiters: { predicate: (payload: T) => boolean; resolve: (payload: T) => void }[] = [];
  const subscription = await bus.subscribe(subject, (delivery) => {
    const payload = delivery.payload as T;
    events.push(payload);
    for (const waiter of waiters.splice(0)) {
      if (waiter.predicate(payload)) waiter.resolve(payload);
      else waiters.push(waiter);
    }
  });
  return {
    events,
    next(predicate: (payload: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching ${subject} event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ predicate, resolve: (payload) => (clearTimeout(timer), resolve(payload)) });
      });
    },
    stop: () => subscription.unsubscribe(),
  };
}

/** Awaits a promise that must reject with a PncError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { code: string };
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected a ${code} rejection`);
}

/**
 * Retention of finished actors (issue 9 D6): a participant whose actors are work items (the CPS's
 * signing jobs) deletes their records once they have been finished for `retainMs`, so its store
 * does not grow with every contract it ever signed. Actors that are a participant's history (the
 * MO's contracts, the OEM's vehicles) are kept: a record is what answers for them later.
 */
import type { Store } from '../store/store.ts';
import { ACTORS_COLLECTION, type ActorRecord } from './actor.ts';
import type { Logger } from './participant.ts';

/** How long a finished actor's record is kept. @default 7 days */
export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** How often the records are looked through. */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** Deletes `participant`'s finished actor records last written before `before`; resolves with how many. */
export async function pruneFinishedActors(store: Store, participant: string, before: Date): Promise<number> {
  const records = store.collection<ActorRecord>(ACTORS_COLLECTION);
  let pruned = 0;
  for (const record of await records.find({ participant, status: 'done' })) {
    if (Date.parse(record.updatedAt) >= before.getTime()) continue;
    if (await records.delete(record._id, { expectedRev: record._rev }).catch(() => false)) pruned++;
  }
  return pruned;
}

/** Prunes at start and then hourly; `retainMs` from the participant's `retentionDays` setting. */
export function startRetention(options: { store: Store; participant: string; log: Logger; retainMs?: number }): { stop(): void } {
  const retainMs = options.retainMs ?? DEFAULT_RETENTION_MS;
  const sweep = () => pruneFinishedActors(options.store, options.participant, new Date(Date.now() - retainMs)).then(
    (pruned) => { if (pruned) options.log.info('actors.pruned', { pruned, retainMs }); },
    (error) => options.log.warn('actors.prune_failed', { error }),
  );
  void sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** `retentionDays` from a participant's settings, in ms; the default when absent. */
export function retentionOf(config: Readonly<Record<string, string>>): number {
  const days = config.retentionDays === undefined ? undefined : Number(config.retentionDays);
  return days !== undefined && Number.isFinite(days) && days >= 0 ? days * 24 * 60 * 60 * 1000 : DEFAULT_RETENTION_MS;
}

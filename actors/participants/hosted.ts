/**
 * The hosted actors a participant keeps running (one per contract, one per vehicle): hosted on
 * first use, restored from the store after a restart, and released when their work is done so
 * a long-running participant does not hold every actor it ever had.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AnyStateMachine, InputFrom } from 'xstate';
import { hostActor, type HostActorOptions, type HostedActor } from '../host/index.ts';

export class HostedActors<TLogic extends AnyStateMachine> {
  // Promises, so two requests for one actor at the same moment share one host (and one lease).
  private readonly actors = new Map<string, Promise<HostedActor<TLogic>>>();
  private readonly releasing = new Map<string, Promise<void>>();
  /** One lease owner for all of this process's actors: a re-hosted actor is taken over at once. */
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(private readonly options: Omit<HostActorOptions<TLogic>, 'id' | 'input' | 'owner'>) {}

  /** The running actor `id`, hosted now (restored, or new with `input`) if it is not yet. */
  get(id: string, input: InputFrom<TLogic>): Promise<HostedActor<TLogic>> {
    let actor = this.actors.get(id);
    if (!actor) {
      const pending = this.releasing.get(id) ?? Promise.resolve();
      actor = pending.then(() => hostActor({ ...this.options, id, input, owner: this.owner }));
      this.actors.set(id, actor);
      actor.catch(() => this.actors.delete(id));
    }
    return actor;
  }

  /** Stops actor `id` (its snapshot stays in the store) and forgets it. */
  async release(id: string): Promise<void> {
    const actor = this.actors.get(id);
    if (!actor) return this.releasing.get(id);
    this.actors.delete(id);
    const stopping = actor.then((running) => running.stop()).catch(() => {}).finally(() => {
      if (this.releasing.get(id) === stopping) this.releasing.delete(id);
    });
    this.releasing.set(id, stopping);
    return stopping;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.actors.keys()].map((id) => this.release(id)));
  }
}

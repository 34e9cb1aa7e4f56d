/**
 * The hosted actors a participant keeps running (one per contract, one per vehicle): hosted on
 * first use, restored from the store after a restart, and released when their work is done so
 * a long-running participant does not hold every actor it ever had.
 */
import type { AnyStateMachine, InputFrom } from 'xstate';
import { hostActor, type HostActorOptions, type HostedActor } from '../host/index.ts';

export class HostedActors<TLogic extends AnyStateMachine> {
  // Promises, so two requests for one actor at the same moment share one host (and one lease).
  private readonly actors = new Map<string, Promise<HostedActor<TLogic>>>();

  constructor(private readonly options: Omit<HostActorOptions<TLogic>, 'id' | 'input'>) {}

  /** The running actor `id`, hosted now (restored, or new with `input`) if it is not yet. */
  get(id: string, input: InputFrom<TLogic>): Promise<HostedActor<TLogic>> {
    let actor = this.actors.get(id);
    if (!actor) {
      actor = hostActor({ ...this.options, id, input });
      this.actors.set(id, actor);
      actor.catch(() => this.actors.delete(id));
    }
    return actor;
  }

  /** Stops actor `id` (its snapshot stays in the store) and forgets it. */
  async release(id: string): Promise<void> {
    const actor = this.actors.get(id);
    this.actors.delete(id);
    if (actor) await (await actor).stop();
  }

  async stopAll(): Promise<void> {
    const all = [...this.actors.keys()];
    await Promise.all(all.map((id) => this.release(id).catch(() => {})));
  }
}

/**
 * A Bus that forwards every call to another: the base of decorators that change a few operations
 * (the story's recording bus, the chaos fault layer) without restating the others.
 */
import type { Bus, ConsumeOptions, Delivery, EnqueueOptions, Headers, RequestHandler, RequestOptions, SubscribeOptions, Subscription, WorkHandler } from './bus.ts';

export class DelegatingBus implements Bus {
  constructor(protected readonly inner: Bus) {}

  get kind(): Bus['kind'] {
    return this.inner.kind;
  }

  publish(subject: string, payload: unknown, headers?: Headers): Promise<void> {
    return this.inner.publish(subject, payload, headers);
  }

  mayHaveSubscribers(subject: string): boolean {
    return this.inner.mayHaveSubscribers(subject);
  }

  onSubscribersChanged(listener: () => void): () => void {
    return this.inner.onSubscribersChanged(listener);
  }

  subscribe(subject: string, handler: (delivery: Delivery) => void | Promise<void>, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(subject, handler, options);
  }

  request<Res = unknown>(subject: string, payload: unknown, options?: RequestOptions): Promise<Res> {
    return this.inner.request<Res>(subject, payload, options);
  }

  serve<Req = unknown, Res = unknown>(subject: string, handler: RequestHandler<Req, Res>, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.serve(subject, handler, options);
  }

  enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<void> {
    return this.inner.enqueue(queue, payload, options);
  }

  consume<T = unknown>(queue: string, handler: WorkHandler<T>, options: ConsumeOptions): Promise<Subscription> {
    return this.inner.consume(queue, handler, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * The Bus: the only way participants talk. `createMemoryBus` is the in-process default (durable work
 * queues kept in the Store); `connectNatsBus` spreads participants over NATS. Both pass the same
 * contract suite (test/bus/contract.ts). Catalogue-aware helpers validate payloads where they enter.
 */
export type {
  Bus, ConsumeOptions, Delivery, EnqueueOptions, Headers, RequestHandler, RequestOptions, SubscribeOptions, Subscription, WorkHandler, WorkItem,
} from './bus.ts';
export { createMemoryBus, DEAD_LETTER_COLLECTION, WORK_COLLECTION, type MemoryBusOptions } from './memory.ts';
export { connectNatsBus, type NatsBusOptions } from './nats.ts';
export { unsubscribeAll } from './bus.ts';
export type { BusLog } from './log.ts';
export { DEFAULT_REQUEST_TIMEOUT_MS } from './wire.ts';
export { DEFAULT_ACK_WAIT_MS, DEFAULT_DEDUP_WINDOW_MS, DEFAULT_MAX_DELIVER, deadLetterSubject, type DeadLetter } from './work.ts';
export { serveSubject, requestSubjectReply, publishEvent, enqueueWork, consumeWork } from './typed.ts';

/**
 * Fire-and-forget pub/sub between the control plane's parts (DESIGN.md §2, §6): config change events for data planes
 * and new request-log rows for live tails. Redis carries it in the distributed shape; the embedded shape, with no
 * REDIS_URL, uses an in-process implementation with the same contract — at-most-once delivery to whoever is
 * subscribed at the moment of publishing. Consumers never depend on delivery: config sync and live tails both detect
 * gaps (revision, seq) and catch up from the database.
 */
export type BusListener = (message: string) => void;

export interface MessageBus {
  /** What carries the messages, for health answers and logs. */
  readonly transport: 'redis' | 'in-process';
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active, with the function that ends it. */
  subscribe(channel: string, listener: BusListener): Promise<() => void>;
  /** How many processes listen on a channel, so publishers can skip building messages nobody reads. */
  subscriberCount(channel: string): Promise<number>;
}

/** Nest injection token of the MessageBus. */
export const MESSAGE_BUS = Symbol('MESSAGE_BUS');

/** Nest injection token of this installation's RedisNames (channel names apply to the in-process bus too). */
export const REDIS_NAMES = Symbol('REDIS_NAMES');

import type { BusListener, MessageBus } from './message-bus';

/**
 * The embedded shape's bus: publisher and subscribers share one process. Delivery is synchronous and in publish
 * order; a listener that throws is reported and does not keep the message from the others.
 */
export class InProcessMessageBus implements MessageBus {
  readonly transport = 'in-process';
  readonly #listeners = new Map<string, Set<BusListener>>();

  constructor(private readonly onListenerError: (error: unknown, channel: string) => void = () => undefined) {}

  publish(channel: string, message: string): Promise<void> {
    const listeners = this.#listeners.get(channel);
    if (listeners) {
      for (const listener of [...listeners]) {
        try {
          listener(message);
        } catch (error) {
          this.onListenerError(error, channel);
        }
      }
    }
    return Promise.resolve();
  }

  subscribe(channel: string, listener: BusListener): Promise<() => void> {
    let listeners = this.#listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
    }
    // Wrapped so that subscribing the same function twice yields two independent subscriptions, as with Redis.
    const subscription: BusListener = (message) => listener(message);
    listeners.add(subscription);
    return Promise.resolve(() => {
      listeners.delete(subscription);
      if (listeners.size === 0 && this.#listeners.get(channel) === listeners) this.#listeners.delete(channel);
    });
  }

  subscriberCount(channel: string): Promise<number> {
    return Promise.resolve(this.#listeners.get(channel)?.size ?? 0);
  }
}

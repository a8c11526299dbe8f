import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { RedisService } from '../redis/redis.service';
import type { BusListener, MessageBus } from './message-bus';

/**
 * Redis pub/sub. Publishing uses the shared command connection; subscribing opens one dedicated connection per
 * process on first use (a subscribed connection cannot run commands) and fans messages out to local listeners.
 * ioredis reconnects and re-subscribes by itself; messages published in between are lost, which every consumer
 * tolerates (see MessageBus).
 */
@Injectable()
export class RedisMessageBus implements MessageBus, OnModuleDestroy {
  readonly transport = 'redis';
  readonly #listeners = new Map<string, Set<BusListener>>();
  #subscriber: Promise<Redis> | undefined;

  constructor(
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async publish(channel: string, message: string): Promise<void> {
    await this.redis.client.publish(channel, message);
  }

  async subscribe(channel: string, listener: BusListener): Promise<() => void> {
    const subscriber = await this.connectSubscriber();
    let listeners = this.#listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
      try {
        await subscriber.subscribe(channel);
      } catch (error) {
        this.#listeners.delete(channel);
        throw error;
      }
    }
    const subscription: BusListener = (message) => listener(message);
    listeners.add(subscription);
    return () => {
      listeners.delete(subscription);
      if (listeners.size > 0 || this.#listeners.get(channel) !== listeners) return;
      this.#listeners.delete(channel);
      void subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }

  async subscriberCount(channel: string): Promise<number> {
    const reply = (await this.redis.client.call('PUBSUB', 'NUMSUB', channel)) as [string, number | string];
    return Number(reply[1]);
  }

  async onModuleDestroy(): Promise<void> {
    this.#listeners.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    (await subscriber?.catch(() => undefined))?.disconnect();
  }

  /** One subscriber connection per process, shared by concurrent first subscriptions. */
  private connectSubscriber(): Promise<Redis> {
    this.#subscriber ??= this.openSubscriber().catch((error: unknown) => {
      this.#subscriber = undefined;
      throw error;
    });
    return this.#subscriber;
  }

  private async openSubscriber(): Promise<Redis> {
    const subscriber = this.redis.client.duplicate({
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    subscriber.on('error', () => {
      // Reconnects by itself; subscribers notice gaps and catch up.
    });
    subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    try {
      await subscriber.connect();
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    return subscriber;
  }

  private dispatch(channel: string, message: string): void {
    const listeners = this.#listeners.get(channel);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch (error) {
        this.logger.warn({ err: error, channel }, 'bus listener failed');
      }
    }
  }
}

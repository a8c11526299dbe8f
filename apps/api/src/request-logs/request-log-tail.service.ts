import { requestLogsTailChannel } from '@gatehouse/contracts';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { ENV, type Env } from '../env';
import { type RequestLogTailMessage, RequestLogTailMessageSchema } from './request-logs.dto';

export type TailListener = (message: RequestLogTailMessage) => void;

/**
 * One Redis subscription to `gatehouse:request-logs:tail` per API process, fanned out to every open live tail.
 * It subscribes on the first listener and stays subscribed; ioredis re-subscribes after a reconnect. Messages lost
 * while disconnected are not a problem: each tail notices the gap in seq and reads it from the database.
 */
@Injectable()
export class RequestLogTailService implements OnModuleDestroy {
  readonly #listeners = new Set<TailListener>();
  #subscriber: Redis | undefined;
  #subscribed: Promise<void> | undefined;

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Registers a listener; resolves (with its unsubscribe function) once the subscription is active. */
  async addListener(listener: TailListener): Promise<() => void> {
    this.#listeners.add(listener);
    try {
      await this.ensureSubscribed();
    } catch (error) {
      // The tail still works: heartbeats poll the database for rows the channel did not bring.
      this.logger.warn({ err: error }, 'request-log tail subscription failed; polling the database only');
    }
    return () => this.#listeners.delete(listener);
  }

  async onModuleDestroy(): Promise<void> {
    this.#listeners.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    this.#subscribed = undefined;
    if (subscriber) subscriber.disconnect();
    await Promise.resolve();
  }

  private ensureSubscribed(): Promise<void> {
    if (this.#subscribed) return this.#subscribed;
    if (!this.env.REDIS_URL) throw new Error('REDIS_URL is required for the live tail');
    const subscriber = new Redis(this.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => {
      // Reconnects by itself.
    });
    subscriber.on('message', (_channel: string, text: string) => this.dispatch(text));
    this.#subscriber = subscriber;
    this.#subscribed = subscriber
      .connect()
      .then(() => subscriber.subscribe(requestLogsTailChannel))
      .then(() => undefined)
      .catch((error: unknown) => {
        this.#subscribed = undefined;
        this.#subscriber = undefined;
        subscriber.disconnect();
        throw error;
      });
    return this.#subscribed;
  }

  private dispatch(text: string): void {
    let message: RequestLogTailMessage;
    try {
      message = RequestLogTailMessageSchema.parse(JSON.parse(text));
    } catch (error) {
      this.logger.warn({ err: error }, 'malformed request-log tail message ignored');
      return;
    }
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        this.logger.warn({ err: error }, 'request-log tail listener failed');
      }
    }
  }
}

import type { RedisNames } from '@gatehouse/contracts';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { MESSAGE_BUS, type MessageBus, REDIS_NAMES } from '../bus/message-bus';
import { LOGGER } from '../common/logger';
import { type RequestLogTailMessage, RequestLogTailMessageSchema } from './request-logs.dto';

export type TailListener = (message: RequestLogTailMessage) => void;

/**
 * One bus subscription to `gatehouse:request-logs:tail` per API process, fanned out to every open live tail. It
 * subscribes on the first listener and stays subscribed. Messages lost while the bus was disconnected are not a
 * problem: each tail notices the gap in seq and reads it from the database.
 */
@Injectable()
export class RequestLogTailService implements OnModuleDestroy {
  readonly #listeners = new Set<TailListener>();
  #subscribed: Promise<() => void> | undefined;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(REDIS_NAMES) private readonly names: RedisNames,
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
    const subscribed = this.#subscribed;
    this.#subscribed = undefined;
    const unsubscribe = await subscribed?.catch(() => undefined);
    unsubscribe?.();
  }

  private ensureSubscribed(): Promise<() => void> {
    this.#subscribed ??= this.bus
      .subscribe(this.names.requestLogsTailChannel, (text) => this.dispatch(text))
      .catch((error: unknown) => {
        this.#subscribed = undefined;
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

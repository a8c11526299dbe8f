import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { ENV, type Env } from '../env';

/** How long boot waits for the first Redis connection; the API starts (degraded) without it. */
const INITIAL_CONNECT_WAIT_MS = 2_000;

/** The shared Redis connection for commands and publishing (subscribers need their own connection). */
@Injectable()
export class RedisService implements OnModuleInit, OnModuleDestroy {
  readonly client: Redis;

  constructor(
    @Inject(ENV) env: Env,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    if (!env.REDIS_URL) {
      throw new Error('RedisService needs REDIS_URL (BusModule provides it only then)');
    }
    // lazyConnect: building the app without starting it (e.g. to write openapi.json) needs no Redis.
    // No offline queue: while Redis is down commands fail at once (health answers 503, publishing is left to the
    // relay, login counts locally) instead of queueing behind reconnect attempts. ioredis reconnects by itself.
    this.client = new Redis(env.REDIS_URL, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
    });
    this.client.on('error', () => {
      // Surfaces on the commands that fail; logging every reconnect attempt would flood the log.
    });
  }

  async onModuleInit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.client.connect().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'Redis unreachable at boot; retrying in the background');
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, INITIAL_CONNECT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  async onModuleDestroy(): Promise<void> {
    if (this.client.status === 'wait' || this.client.status === 'end') return;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

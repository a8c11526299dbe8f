import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Env } from '../env';
import { RedisService } from '../redis/redis.service';
import { InProcessMessageBus } from './in-process-message-bus';
import { MESSAGE_BUS, type MessageBus } from './message-bus';
import { RedisMessageBus } from './redis-message-bus';

/**
 * Chooses what connects the control plane's parts (DESIGN.md §2): Redis when REDIS_URL is set (RedisService is then
 * provided too, for the login counters and the health check), otherwise the caller's bus (the embedded shape's, which
 * its data plane's config source subscribes to) or an in-process bus of its own.
 */
@Global()
@Module({})
export class BusModule {
  static register(env: Env, inProcessBus?: MessageBus): DynamicModule {
    if (env.REDIS_URL) {
      return {
        module: BusModule,
        providers: [RedisService, RedisMessageBus, { provide: MESSAGE_BUS, useExisting: RedisMessageBus }],
        exports: [RedisService, MESSAGE_BUS],
      };
    }
    const bus: MessageBus = inProcessBus ?? new InProcessMessageBus();
    return { module: BusModule, providers: [{ provide: MESSAGE_BUS, useValue: bus }], exports: [MESSAGE_BUS] };
  }
}

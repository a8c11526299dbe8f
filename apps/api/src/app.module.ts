import { redisNames } from '@gatehouse/contracts';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Logger } from 'pino';
import { AgentSessionsModule } from './agent-sessions/agent-sessions.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthtokensModule } from './authtokens/authtokens.module';
import { AuditEventsModule } from './audit-events/audit-events.module';
import { AuthModule } from './auth/auth.module';
import { BusModule } from './bus/bus.module';
import { type MessageBus, REDIS_NAMES } from './bus/message-bus';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { LOGGER } from './common/logger';
import { ConfigPublisherModule } from './config-publisher/config-publisher.module';
import { DatabaseModule } from './database/database.module';
import type { DatabaseAdapter } from './database/prisma.service';
import { DataplaneSyncModule } from './dataplane-sync/dataplane-sync.module';
import { EndpointsModule } from './endpoints/endpoints.module';
import { ENV, type Env } from './env';
import { HealthModule } from './health/health.module';
import { IpCategoriesModule } from './ip-categories/ip-categories.module';
import { VaultsModule } from './vaults/vaults.module';
import { ReplayModule } from './replay/replay.module';
import { RequestLogsModule } from './request-logs/request-logs.module';
import { TrafficPolicyModule } from './traffic-policy/traffic-policy.module';
import { TrafficModule } from './traffic/traffic.module';
import { AiUsageModule } from './ai-usage/ai-usage.module';
import { UsersModule } from './users/users.module';

/** Provides the parsed environment and the logger to every module. */
@Global()
@Module({})
export class CoreModule {
  static register(env: Env, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: ENV, useValue: env },
        { provide: LOGGER, useValue: logger },
        { provide: REDIS_NAMES, useValue: redisNames(env.GATEHOUSE_REDIS_PREFIX) },
      ],
      exports: [ENV, LOGGER, REDIS_NAMES],
    };
  }
}

/**
 * What the control plane runs on when its caller opened it (`createControlPlane`'s ports): the embedded shape passes
 * its PGlite adapter and its in-process bus. Unset parts come from the environment (DATABASE_URL, REDIS_URL).
 */
export interface Infrastructure {
  database?: DatabaseAdapter | undefined;
  bus?: MessageBus | undefined;
}

@Module({})
export class AppModule {
  static register(env: Env, logger: Logger, infrastructure: Infrastructure = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(env, logger),
        DatabaseModule.register(env, infrastructure.database),
        BusModule.register(env, infrastructure.bus),
        ConfigPublisherModule,
        AuditEventsModule,
        AuthModule,
        UsersModule,
        ApiKeysModule,
        AuthtokensModule,
        AgentSessionsModule,
        TrafficPolicyModule,
        EndpointsModule,
        ReplayModule,
        IpCategoriesModule,
        VaultsModule,
        DataplaneSyncModule,
        RequestLogsModule,
        TrafficModule,
        AiUsageModule,
        HealthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}

// `npm run worker -w @gatehouse/api`: background work without the HTTP server: the config outbox relay (publishes
// committed-but-unpublished changes, prunes old ones), request-log ingestion (BullMQ queue `request-logs` → Postgres
// → `gatehouse:request-logs:tail`) and request-log retention (a BullMQ job scheduler). Several workers may run:
// relays and inserts serialize on Postgres advisory locks, BullMQ hands each job to one worker.
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { CoreModule } from './app.module';
import { createLogger, PinoNestLogger } from './common/logger';
import { ConfigPublisherModule } from './config-publisher/config-publisher.module';
import { DatabaseModule } from './database/database.module';
import { type Env, EnvError, parseEnv } from './env';
import { RedisModule } from './redis/redis.module';
import { RequestLogsWorkerModule } from './request-logs/request-logs-worker.module';

@Module({})
class WorkerModule {
  static register(env: Env, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CoreModule.register(env, logger),
        DatabaseModule,
        RedisModule,
        ConfigPublisherModule,
        RequestLogsWorkerModule,
      ],
    };
  }
}

async function main(): Promise<void> {
  let env: Env;
  try {
    env = parseEnv(process.env);
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL);
  const app = await NestFactory.createApplicationContext(WorkerModule.register(env, logger), {
    logger: new PinoNestLogger(logger),
  });
  app.enableShutdownHooks();
  await app.init();
  logger.info('worker running: config outbox relay, request-log ingestion and retention');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

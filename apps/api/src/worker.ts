// `npm run worker -w @gatehouse/api`: background work without the HTTP server: the config outbox relay (publishes
// committed-but-unpublished changes, prunes old ones), request-log ingestion (BullMQ queue `request-logs` → Postgres
// → `gatehouse:request-logs:tail`) and request-log retention (a BullMQ job scheduler). Several workers may run:
// relays and inserts serialize on Postgres advisory locks, BullMQ hands each job to one worker.
import { parseEnvironmentOrExit, runUntilSignal } from '@gatehouse/runtime';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { CoreModule } from './app.module';
import { createLogger, PinoNestLogger } from './common/logger';
import { BusModule } from './bus/bus.module';
import { ConfigPublisherModule } from './config-publisher/config-publisher.module';
import { DatabaseModule } from './database/database.module';
import { type Env, parseEnv } from './env';
import { RequestLogsWorkerModule } from './request-logs/request-logs-worker.module';

@Module({})
class WorkerModule {
  static register(env: Env, logger: Logger): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CoreModule.register(env, logger),
        DatabaseModule.register(env),
        BusModule.register(env),
        ConfigPublisherModule,
        RequestLogsWorkerModule,
      ],
    };
  }
}

const env = parseEnvironmentOrExit(() => parseEnv(process.env));
if (!env.REDIS_URL || !env.DATABASE_URL) {
  // Without them the embedded shape (`npm start`) runs these jobs itself; a separate worker would have no queue.
  console.error('The worker needs DATABASE_URL and REDIS_URL (the distributed shape, DESIGN.md §2).');
  process.exit(2);
}
const logger = createLogger(env.LOG_LEVEL);
void runUntilSignal(
  async () => {
    const app = await NestFactory.createApplicationContext(WorkerModule.register(env, logger), {
      logger: new PinoNestLogger(logger),
    });
    await app.init();
    logger.info('worker running: config outbox relay, request-log ingestion and retention');
    return app;
  },
  (app) => app.close(),
  logger,
);

// A request-log ingestion worker in its own process, for the test that kills it (SIGKILL) mid-stream. Composed by
// hand (no Nest container) so it runs under tsx. Arguments: <redis url> <bullmq prefix> <lock duration ms>.
import { PrismaPg } from '@prisma/adapter-pg';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/common/logger';
import { PrismaService } from '../../src/database/prisma.service';
import { parseEnv } from '../../src/env';
import { RequestLogBatchProcessor, RequestLogIngestionWorker } from '../../src/request-logs/request-log-ingestion';
import { RequestLogsRepository } from '../../src/request-logs/request-logs.repository';
import { TEST_DATABASE_URL } from '../test-env';

const [redisUrl = '', prefix = '', lockDuration = '2000'] = process.argv.slice(2);
const env = parseEnv({ DATABASE_URL: TEST_DATABASE_URL, REDIS_URL: redisUrl, LOG_LEVEL: 'warn' });
const logger = createLogger(env.LOG_LEVEL);
const publisher = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
publisher.on('error', () => undefined);
const processor = new RequestLogBatchProcessor(
  new RequestLogsRepository(new PrismaService(new PrismaPg({ connectionString: TEST_DATABASE_URL }))),
  publisher,
  logger,
  [],
);
const worker = new RequestLogIngestionWorker(processor, logger, {
  redisUrl,
  prefix,
  lockDurationMs: Number(lockDuration),
  stalledIntervalMs: 500,
});
worker.start();
void worker.waitUntilReady().then(() => process.stdout.write('ready\n'));

import { Module } from '@nestjs/common';
import { RequestLogTailService } from './request-log-tail.service';
import { RequestLogsController } from './request-logs.controller';
import { RequestLogsRepository } from './request-logs.repository';
import { RequestLogsService } from './request-logs.service';

/** Request-log query API and live tail (DESIGN.md §5, §7). Ingestion runs in the worker: request-logs-worker.module. */
@Module({
  controllers: [RequestLogsController],
  providers: [RequestLogsRepository, RequestLogsService, RequestLogTailService],
  exports: [RequestLogsRepository],
})
export class RequestLogsModule {}

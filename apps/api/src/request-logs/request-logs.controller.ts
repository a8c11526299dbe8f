import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireRole } from '../auth/auth.decorators';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import {
  ListRequestLogsQuerySchema,
  type ListRequestLogsQuery,
  RequestLogListResponseSchema,
  type RequestLogListResponse,
  RequestLogResponseSchema,
  type RequestLogResponse,
  StreamRequestLogsQuerySchema,
  type StreamRequestLogsQuery,
} from './request-logs.dto';
import { RequestLogsService } from './request-logs.service';

@ApiTags('request logs')
@Controller('request-logs')
export class RequestLogsController {
  constructor(private readonly requestLogs: RequestLogsService) {}

  @ApiOperation({ summary: 'List request logs, newest first' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: RequestLogListResponseSchema })
  listRequestLogs(
    @Query({ schema: ListRequestLogsQuerySchema }) query: ListRequestLogsQuery,
  ): Promise<RequestLogListResponse> {
    return this.requestLogs.listRequestLogs(query);
  }

  // Declared before `:id` so that "stream" is not taken for an id.
  @ApiOperation({
    summary: 'Live tail of request logs (Server-Sent Events, same filters as the list)',
    description:
      'Each event is `event: request_log`, `id: <seq>`, `data: <RequestLogSummary JSON>`. A `: heartbeat` comment ' +
      'comes every 15 s. Reconnect with `Last-Event-ID` (or `last_event_id`) to replay what was missed.',
  })
  @Get('stream')
  @RequireRole('viewer')
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'text/event-stream of RequestLogSummary events',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  streamRequestLogs(
    @Query({ schema: StreamRequestLogsQuerySchema }) query: StreamRequestLogsQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    return this.requestLogs.streamRequestLogs(query, lastEventId, {
      write: (chunk) => {
        if (!response.headersSent) {
          response.status(200);
          response.setHeader('content-type', 'text/event-stream; charset=utf-8');
          response.setHeader('cache-control', 'no-cache, no-transform');
          response.setHeader('connection', 'keep-alive');
          response.setHeader('x-accel-buffering', 'no');
          response.flushHeaders();
        }
        if (!response.writableEnded) response.write(chunk);
      },
      // The response closes only when the client goes away (an SSE response never finishes by itself).
      onClose: (listener) => {
        if (response.closed) listener();
        else response.on('close', listener);
      },
      end: () => response.end(),
    });
  }

  @ApiOperation({ summary: 'Get one request log with its decision trace and policy version' })
  @Get(':id')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: RequestLogResponseSchema })
  @ApiNotFoundResponse({ description: 'REQUEST_LOG_NOT_FOUND', standardSchema: ErrorResponseSchema })
  getRequestLog(@Param('id') id: string): Promise<RequestLogResponse> {
    return this.requestLogs.getRequestLog(id);
  }
}

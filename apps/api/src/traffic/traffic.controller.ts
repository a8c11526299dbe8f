import {
  ErrorResponseSchema,
  TrafficEndpointsQuerySchema,
  type TrafficEndpointsQuery,
  TrafficEndpointsSchema,
  type TrafficEndpoints,
  TrafficSummaryQuerySchema,
  type TrafficSummaryQuery,
  TrafficSummarySchema,
  type TrafficSummary,
} from '@gatehouse/contracts';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import { TrafficService } from './traffic.service';

@ApiTags('traffic')
@Controller('traffic')
export class TrafficController {
  constructor(private readonly traffic: TrafficService) {}

  @ApiOperation({
    summary: 'Traffic over time: requests, denials by rule, 429s, upstream errors, p50/p95 latency, top lists',
    description:
      'Computed from rollups maintained at ingestion (per minute, 15 minutes and hour), not by scanning the request ' +
      'log. The window ends with the current bucket. Latency percentiles are interpolated in ≤ ×1.33-wide bins.',
  })
  @Get('summary')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: TrafficSummarySchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  @ApiNotFoundResponse({ description: 'ENDPOINT_NOT_FOUND', standardSchema: ErrorResponseSchema })
  summary(@Query({ schema: TrafficSummaryQuerySchema }) query: TrafficSummaryQuery): Promise<TrafficSummary> {
    return this.traffic.summary(query);
  }

  @ApiOperation({ summary: 'Per-endpoint totals over a window (the endpoint list shows the last 24 h)' })
  @Get('endpoints')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: TrafficEndpointsSchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  endpoints(@Query({ schema: TrafficEndpointsQuerySchema }) query: TrafficEndpointsQuery): Promise<TrafficEndpoints> {
    return this.traffic.endpoints(query);
  }
}

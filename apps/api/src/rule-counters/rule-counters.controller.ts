import {
  ErrorResponseSchema,
  PolicyRuleStatsQuerySchema,
  type PolicyRuleStatsQuery,
  PolicyRuleStatsSchema,
  type PolicyRuleStats,
} from '@gatehouse/contracts';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import { RuleCountersService } from './rule-counters.service';

@ApiTags('policy versions')
@Controller('endpoints/:id/policy')
export class RuleCountersController {
  constructor(private readonly counters: RuleCountersService) {}

  @ApiOperation({
    summary: "Per-rule counters of an endpoint's policy: hits, denies, last match and added latency",
    description:
      'Counted by data planes per endpoint, version and rule and shipped with their heartbeats, so the newest ' +
      'counts are up to one heartbeat interval old. Windows are 5-minute buckets: the last 12 and the last 288.',
  })
  @Get('rule-stats')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: PolicyRuleStatsSchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  @ApiNotFoundResponse({
    description: 'ENDPOINT_NOT_FOUND, POLICY_VERSION_NOT_FOUND',
    standardSchema: ErrorResponseSchema,
  })
  getPolicyRuleStats(
    @Param('id') endpointId: string,
    @Query({ schema: PolicyRuleStatsQuerySchema }) query: PolicyRuleStatsQuery,
  ): Promise<PolicyRuleStats> {
    return this.counters.getPolicyRuleStats(endpointId, query.version);
  }
}

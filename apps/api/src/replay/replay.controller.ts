import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  ErrorResponseSchema,
  ReplayReportSchema,
  type ReplayReport,
  ReplayRequestBodySchema,
  type ReplayRequestBody,
} from '@gatehouse/contracts';
import { RequireRole } from '../auth/auth.decorators';
import { ReplayService } from './replay.service';

@ApiTags('policy versions')
@Controller('endpoints/:id/replay')
export class ReplayController {
  constructor(private readonly replay: ReplayService) {}

  @ApiOperation({
    summary: 'Replay a draft policy (or a stored version) on recorded traffic',
    description:
      "Evaluates the policy against the endpoint's newest recorded requests (oldest first, with in-memory rate limits) " +
      'and the baseline the same way, and answers the differences grouped, each with example request-log ids.',
  })
  @Post()
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: ReplayReportSchema })
  @ApiBadRequestResponse({ description: 'POLICY_INVALID, VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  @ApiNotFoundResponse({
    description: 'ENDPOINT_NOT_FOUND or POLICY_VERSION_NOT_FOUND',
    standardSchema: ErrorResponseSchema,
  })
  @ApiServiceUnavailableResponse({ description: 'REPLAY_BUSY', standardSchema: ErrorResponseSchema })
  replayPolicy(
    @Param('id') endpointId: string,
    @Body({ schema: ReplayRequestBodySchema }) body: ReplayRequestBody,
  ): Promise<ReplayReport> {
    return this.replay.replayPolicy(endpointId, body);
  }
}

import {
  AiUsageQuerySchema,
  AiUsageSchema,
  ErrorResponseSchema,
  type AiUsage,
  type AiUsageQuery,
} from '@gatehouse/contracts';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import { AiUsageService } from './ai-usage.service';

@ApiTags('ai-usage')
@Controller('ai-usage')
export class AiUsageController {
  constructor(private readonly usage: AiUsageService) {}

  @ApiOperation({
    summary: 'Tokens and estimated cost of ai-gateway requests by day, provider and model, and client key',
    description:
      'Summed from the request log (so it covers its retention). The client key is a hash of the key the client sent; ' +
      'costs are estimates from the model catalog or the policy.',
  })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: AiUsageSchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  list(@Query({ schema: AiUsageQuerySchema }) query: AiUsageQuery): Promise<AiUsage> {
    return this.usage.usage(query);
  }
}

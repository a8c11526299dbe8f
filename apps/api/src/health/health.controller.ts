import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { HealthResponseSchema, type HealthResponse } from './health.dto';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @ApiOperation({ summary: 'Check Postgres and Redis' })
  @Get()
  @Public()
  @ApiOkResponse({ description: 'Postgres and Redis answer', standardSchema: HealthResponseSchema })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down', standardSchema: HealthResponseSchema })
  async checkHealth(@Res({ passthrough: true }) response: Response): Promise<HealthResponse> {
    const result = await this.health.checkHealth();
    if (result.status !== 'ok') response.status(503);
    return result;
  }
}

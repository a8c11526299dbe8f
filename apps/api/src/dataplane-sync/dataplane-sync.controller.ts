import { Body, Controller, Get, Headers, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiGoneResponse, ApiHeader, ApiOkResponse, ApiResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import type { Response } from 'express';
import type { z } from 'zod';
import { DataplaneAuth } from '../auth/auth.decorators';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import {
  ConfigChangesQuerySchema,
  ConfigChangesResponseSchema,
  type ConfigChangesResponse,
  ConfigSnapshotSchema,
  type ConfigSnapshot,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  type HeartbeatResponse,
} from '@gatehouse/contracts';
import { DataplaneSyncService } from './dataplane-sync.service';

/** Routes data planes call with GATEHOUSE_DATAPLANE_TOKEN (DESIGN.md §6). */
@ApiTags('data-plane sync')
@DataplaneAuth()
@Controller('dataplane')
export class DataplaneSyncController {
  constructor(private readonly sync: DataplaneSyncService) {}

  @ApiOperation({ summary: 'Data plane: the full config snapshot' })
  @Get('config')
  @ApiHeader({ name: 'if-none-match', required: false, description: 'The ETag of the snapshot the data plane has' })
  @ApiOkResponse({ description: 'The full config; ETag "rev-<revision>"', standardSchema: ConfigSnapshotSchema })
  @ApiResponse({ status: 304, description: 'If-None-Match names the latest revision' })
  async getConfigSnapshot(
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<ConfigSnapshot | undefined> {
    const { etag, snapshot } = await this.sync.getConfigSnapshot(ifNoneMatch);
    response.setHeader('etag', etag);
    response.setHeader('cache-control', 'no-cache');
    if (!snapshot) {
      response.status(304);
      return undefined;
    }
    return snapshot;
  }

  @ApiOperation({ summary: 'Data plane: config changes after a revision' })
  @Get('config/changes')
  @ApiOkResponse({ standardSchema: ConfigChangesResponseSchema })
  @ApiGoneResponse({ description: 'CONFIG_REVISION_GONE: fetch a full snapshot', standardSchema: ErrorResponseSchema })
  listConfigChanges(
    @Query({ schema: ConfigChangesQuerySchema }) query: z.output<typeof ConfigChangesQuerySchema>,
  ): Promise<ConfigChangesResponse> {
    return this.sync.listConfigChanges(query.since, query.limit);
  }

  @ApiOperation({ summary: 'Data plane: report the applied revision' })
  @Post('heartbeat')
  @HttpCode(200)
  @ApiOkResponse({ standardSchema: HeartbeatResponseSchema })
  recordHeartbeat(
    @Body({ schema: HeartbeatRequestSchema }) body: z.output<typeof HeartbeatRequestSchema>,
  ): Promise<HeartbeatResponse> {
    return this.sync.recordHeartbeat(body);
  }
}

import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import { DataplaneSyncService } from './dataplane-sync.service';
import { DataplaneListResponseSchema, type DataplaneListResponse } from './dataplanes.dto';

@ApiTags('data planes')
@Controller('dataplanes')
export class DataplanesController {
  constructor(private readonly sync: DataplaneSyncService) {}

  @ApiOperation({ summary: 'List data planes with their applied revision and lag' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ description: 'The fleet, most recently seen first', standardSchema: DataplaneListResponseSchema })
  listDataplanes(): Promise<DataplaneListResponse> {
    return this.sync.listDataplanes();
  }
}

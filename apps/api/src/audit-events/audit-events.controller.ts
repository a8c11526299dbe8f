import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags, ApiOperation } from '@nestjs/swagger';
import { RequireRole } from '../auth/auth.decorators';
import {
  AuditEventListResponseSchema,
  type AuditEventListResponse,
  ListAuditEventsQuerySchema,
  type ListAuditEventsQuery,
} from './audit-events.dto';
import { AuditEventsService } from './audit-events.service';

@ApiTags('audit events')
@Controller('audit-events')
export class AuditEventsController {
  constructor(private readonly auditEvents: AuditEventsService) {}

  @ApiOperation({ summary: 'List audit events (who changed what), newest first' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: AuditEventListResponseSchema })
  listAuditEvents(
    @Query({ schema: ListAuditEventsQuerySchema }) query: ListAuditEventsQuery,
  ): Promise<AuditEventListResponse> {
    return this.auditEvents.listAuditEvents(query);
  }
}

import { Injectable } from '@nestjs/common';
import { toPage } from '../common/pagination';
import type { AuditEvent } from '../generated/prisma/client';
import type { AuditEventListResponse, AuditEventResponse, ListAuditEventsQuery } from './audit-events.dto';
import { AuditEventsRepository } from './audit-events.repository';

function presentAuditEvent(event: AuditEvent): AuditEventResponse {
  return {
    id: event.id,
    uri: `/api/audit-events/${event.id}`,
    actor: { type: event.actorType, id: event.actorId, name: event.actorName },
    kind: event.kind,
    entity_id: event.entityId,
    before: event.before,
    after: event.after,
    ip: event.ip,
    request_id: event.requestId,
    created_at: event.createdAt.toISOString(),
  };
}

@Injectable()
export class AuditEventsService {
  constructor(private readonly auditEvents: AuditEventsRepository) {}

  async listAuditEvents(query: ListAuditEventsQuery): Promise<AuditEventListResponse> {
    const beforeId = query.before_id ?? query.before;
    const rows = await this.auditEvents.listAuditEvents({
      actor: query.actor,
      kind: query.kind,
      entityId: query.entity_id,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      beforeId,
      limit: query.limit,
    });
    const { before: _before, ...filters } = query;
    const page = toPage(rows, query.limit, '/api/audit-events', filters);
    return { audit_events: page.items.map(presentAuditEvent), next_page_uri: page.nextPageUri };
  }
}

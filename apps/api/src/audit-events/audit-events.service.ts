import { Injectable } from '@nestjs/common';
import { toPage } from '../common/pagination';
import type { AuditEvent } from '../generated/prisma/client';
import type { AuditEventListResponse, AuditEventResponse, ListAuditEventsQuery } from './audit-events.dto';
import { apiKeyLabel, AuditEventsRepository } from './audit-events.repository';

/** A label from the snapshot the event recorded: what a deleted entity was called. */
function snapshotLabel(event: AuditEvent): string | null {
  for (const snapshot of [event.after, event.before]) {
    if (snapshot === null || typeof snapshot !== 'object' || Array.isArray(snapshot)) continue;
    const fields = snapshot as Record<string, unknown>;
    for (const key of ['url', 'email', 'name'] as const) {
      if (typeof fields[key] === 'string') return fields[key];
    }
    if (typeof fields.prefix === 'string') {
      return apiKeyLabel(fields.prefix, typeof fields.description === 'string' ? fields.description : '');
    }
  }
  return null;
}

function presentAuditEvent(event: AuditEvent, labels: ReadonlyMap<string, string>): AuditEventResponse {
  return {
    id: event.id,
    uri: `/api/audit-events/${event.id}`,
    actor: { type: event.actorType, id: event.actorId, name: event.actorName },
    kind: event.kind,
    entity_id: event.entityId,
    entity_label: (event.entityId === null ? undefined : labels.get(event.entityId)) ?? snapshotLabel(event),
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
    const labels = await this.auditEvents.currentLabels(
      page.items.flatMap((event) => (event.entityId === null ? [] : [event.entityId])),
    );
    return {
      audit_events: page.items.map((event) => presentAuditEvent(event, labels)),
      next_page_uri: page.nextPageUri,
    };
  }
}

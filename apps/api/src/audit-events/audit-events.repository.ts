import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { newId } from '../common/ids';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import { type AuditEvent, Prisma } from '../generated/prisma/client';

export interface NewAuditEvent {
  kind: string;
  entityId: string | null;
  /** The object before and after the change, as the API presents it (null when created/deleted). */
  before: Prisma.InputJsonValue | null;
  after: Prisma.InputJsonValue | null;
}

export interface AuditEventFilters {
  actor?: string;
  kind?: string;
  entityId?: string;
  from?: Date;
  to?: Date;
  beforeId?: string;
  limit: number;
}

function toJson(value: Prisma.InputJsonValue | null | undefined): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value === null || value === undefined ? Prisma.DbNull : value;
}

@Injectable()
export class AuditEventsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records an audit event inside the caller's transaction, so the event exists exactly when the change does. */
  async insertAuditEvent(tx: TransactionClient, context: RequestContext, event: NewAuditEvent): Promise<void> {
    await tx.auditEvent.create({
      data: {
        id: newId('ae'),
        actorType: context.actor.type,
        actorId: context.actor.id,
        actorName: context.actor.name,
        kind: event.kind,
        entityId: event.entityId,
        before: toJson(event.before),
        after: toJson(event.after),
        ip: context.ip,
        requestId: context.requestId,
      },
    });
  }

  /** Newest first, `limit + 1` rows so the caller can tell whether another page exists. */
  listAuditEvents(filters: AuditEventFilters): Promise<AuditEvent[]> {
    return this.prisma.auditEvent.findMany({
      where: {
        ...(filters.actor ? { OR: [{ actorId: filters.actor }, { actorName: filters.actor }] } : {}),
        ...(filters.kind ? { kind: filters.kind } : {}),
        ...(filters.entityId ? { entityId: filters.entityId } : {}),
        createdAt: { ...(filters.from ? { gte: filters.from } : {}), ...(filters.to ? { lt: filters.to } : {}) },
        ...(filters.beforeId ? { id: { lt: filters.beforeId } } : {}),
      },
      orderBy: { id: 'desc' },
      take: filters.limit + 1,
    });
  }

  /**
   * Display labels of the entities `ids` name, for those that still exist: endpoint URL, user email, API key, agent
   * session (its host), authtoken.
   */
  async currentLabels(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const [endpoints, users, keys, sessions, authtokens] = await Promise.all([
      this.prisma.endpoint.findMany({
        where: { id: { in: unique.filter((id) => id.startsWith('ep_')) } },
        select: { id: true, url: true },
      }),
      this.prisma.user.findMany({
        where: { id: { in: unique.filter((id) => id.startsWith('usr_')) } },
        select: { id: true, email: true },
      }),
      this.prisma.apiKey.findMany({
        where: { id: { in: unique.filter((id) => id.startsWith('key_')) } },
        select: { id: true, prefix: true, description: true },
      }),
      this.prisma.agentSession.findMany({
        where: { id: { in: unique.filter((id) => id.startsWith('as_')) } },
        select: { id: true, hostname: true },
      }),
      this.prisma.authtoken.findMany({
        where: { id: { in: unique.filter((id) => id.startsWith('atk_')) } },
        select: { id: true, prefix: true, description: true },
      }),
    ]);
    return new Map<string, string>([
      ...endpoints.map((endpoint) => [endpoint.id, endpoint.url] as const),
      ...users.map((user) => [user.id, user.email] as const),
      ...keys.map((key) => [key.id, apiKeyLabel(key.prefix, key.description)] as const),
      ...sessions.map((session) => [session.id, `agent on ${session.hostname}`] as const),
      ...authtokens.map((token) => [token.id, apiKeyLabel(token.prefix, token.description)] as const),
    ]);
  }
}

export function apiKeyLabel(prefix: string, description: string): string {
  return description === '' ? `${prefix}…` : `${prefix}… (${description})`;
}

import { Injectable } from '@nestjs/common';
import type { RequestContext, Role } from '../auth/actor';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { newId } from '../common/ids';
import { PrismaService } from '../database/prisma.service';
import type { ApiKey } from '../generated/prisma/client';
import { presentApiKey } from './api-keys.presenter';

/** How stale last_used_at may get before a request refreshes it (avoids a write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiKeysRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
  ) {}

  async createApiKey(
    context: RequestContext,
    key: { description: string; prefix: string; secretHash: string; role: Role; createdById: string | null },
  ): Promise<ApiKey> {
    return this.prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({ data: { id: newId('key'), ...key } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'api_key.created',
        entityId: created.id,
        before: null,
        after: presentApiKey(created),
      });
      return created;
    });
  }

  listApiKeys(limit: number, beforeId?: string): Promise<ApiKey[]> {
    return this.prisma.apiKey.findMany({
      where: beforeId ? { id: { lt: beforeId } } : {},
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
  }

  findApiKeyBySecretHash(secretHash: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { secretHash } });
  }

  async recordApiKeyUse(key: ApiKey, now: Date): Promise<void> {
    if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    await this.prisma.apiKey.updateMany({ where: { id: key.id }, data: { lastUsedAt: now } });
  }

  async deleteApiKey(context: RequestContext, id: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.apiKey.findUnique({ where: { id } });
      if (!before) throw new AppError(ErrorCode.API_KEY_NOT_FOUND, `No API key ${id}`);
      await tx.apiKey.delete({ where: { id } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'api_key.deleted',
        entityId: id,
        before: presentApiKey(before),
        after: null,
      });
    });
  }
}

import { Injectable } from '@nestjs/common';
import type { RequestContext, Role } from '../auth/actor';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { newId } from '../common/ids';
import { PrismaService } from '../database/prisma.service';
import { type ApiKeyWithOwner, presentApiKey } from './api-keys.presenter';

/** Every read includes the owner's role (the key's effective role depends on it) and email (shown instead of the id). */
const WITH_OWNER = { createdBy: { select: { role: true, email: true } } } as const;

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
  ): Promise<ApiKeyWithOwner> {
    return this.prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({ data: { id: newId('key'), ...key }, include: WITH_OWNER });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'api_key.created',
        entityId: created.id,
        before: null,
        after: presentApiKey(created),
      });
      return created;
    });
  }

  listApiKeys(limit: number, beforeId?: string): Promise<ApiKeyWithOwner[]> {
    return this.prisma.apiKey.findMany({
      include: WITH_OWNER,
      where: beforeId ? { id: { lt: beforeId } } : {},
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
  }

  findApiKeyBySecretHash(secretHash: string): Promise<ApiKeyWithOwner | null> {
    return this.prisma.apiKey.findUnique({ where: { secretHash }, include: WITH_OWNER });
  }

  findApiKeyById(id: string): Promise<ApiKeyWithOwner | null> {
    return this.prisma.apiKey.findUnique({ where: { id }, include: WITH_OWNER });
  }

  async recordApiKeyUse(key: ApiKeyWithOwner, now: Date): Promise<void> {
    if (key.lastUsedAt && now.getTime() - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    await this.prisma.apiKey.updateMany({ where: { id: key.id }, data: { lastUsedAt: now } });
  }

  async deleteApiKey(context: RequestContext, id: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.apiKey.findUnique({ where: { id }, include: WITH_OWNER });
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

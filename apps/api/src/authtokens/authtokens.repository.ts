import { Injectable } from '@nestjs/common';
import { AgentSessionsRepository } from '../agent-sessions/agent-sessions.repository';
import type { RequestContext } from '../auth/actor';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { newId } from '../common/ids';
import { PrismaService } from '../database/prisma.service';
import type { Authtoken } from '../generated/prisma/client';
import { presentAuthtoken } from './authtokens.presenter';

@Injectable()
export class AuthtokensRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
    private readonly agentSessions: AgentSessionsRepository,
  ) {}

  async createAuthtoken(
    context: RequestContext,
    token: {
      description: string;
      prefix: string;
      secretHash: string;
      urlPatterns: string[];
      createdById: string | null;
    },
  ): Promise<Authtoken> {
    return this.prisma.$transaction(async (tx) => {
      const created = await tx.authtoken.create({ data: { id: newId('atk'), ...token } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'authtoken.created',
        entityId: created.id,
        before: null,
        after: presentAuthtoken(created),
      });
      return created;
    });
  }

  listAuthtokens(limit: number, filters: { beforeId?: string; revoked?: boolean }): Promise<Authtoken[]> {
    return this.prisma.authtoken.findMany({
      where: {
        ...(filters.beforeId === undefined ? {} : { id: { lt: filters.beforeId } }),
        ...(filters.revoked === undefined ? {} : { revokedAt: filters.revoked ? { not: null } : null }),
      },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
  }

  findAuthtokenById(id: string): Promise<Authtoken | null> {
    return this.prisma.authtoken.findUnique({ where: { id } });
  }

  findAuthtokenBySecretHash(secretHash: string): Promise<Authtoken | null> {
    return this.prisma.authtoken.findUnique({ where: { secretHash } });
  }

  /**
   * Marks the token revoked (kept, so its agent can be told why it is refused) and ends its live sessions in the same
   * transaction: their endpoints go and `agent_session.ended` is in the outbox the moment the revocation is visible.
   * Revoking a revoked token changes nothing and records nothing: DELETE is idempotent. Resolves with the ended
   * sessions' ids.
   */
  async revokeAuthtoken(context: RequestContext, id: string, now: Date): Promise<string[]> {
    return this.prisma.$transaction(async (tx) => {
      // The row lock orders this after any registration holding a share lock on the token (and vice versa).
      await tx.$queryRaw`SELECT id FROM authtokens WHERE id = ${id} FOR UPDATE`;
      const before = await tx.authtoken.findUnique({ where: { id } });
      if (!before) throw new AppError(ErrorCode.AUTHTOKEN_NOT_FOUND, `No authtoken ${id}`);
      if (before.revokedAt !== null) return [];
      const after = await tx.authtoken.update({ where: { id }, data: { revokedAt: now } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'authtoken.revoked',
        entityId: id,
        before: presentAuthtoken(before),
        after: presentAuthtoken(after),
      });
      return this.agentSessions.endSessionsOfAuthtoken(tx, context, id, now);
    });
  }
}

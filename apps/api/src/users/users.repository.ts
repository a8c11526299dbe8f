import { Injectable } from '@nestjs/common';
import { presentApiKey } from '../api-keys/api-keys.presenter';
import type { RequestContext, Role } from '../auth/actor';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { newId } from '../common/ids';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import type { User } from '../generated/prisma/client';
import { presentUser } from './users.presenter';

/** Serializes first-run setup and changes that could remove the last admin. */
const USERS_LOCK_KEY = 4_710_202_621;

export interface NewUser {
  email: string;
  passwordHash: string;
  role: Role;
}

@Injectable()
export class UsersRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
  ) {}

  countUsers(): Promise<number> {
    return this.prisma.user.count();
  }

  findUserByEmail(email: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { email } });
  }

  findUserById(id: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  listUsers(limit: number, beforeId?: string): Promise<User[]> {
    return this.prisma.user.findMany({
      where: beforeId ? { id: { lt: beforeId } } : {},
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
  }

  /** Creates the first admin, or returns null when any user already exists (setup is one-shot, even under races). */
  async createFirstAdmin(context: RequestContext, user: Omit<NewUser, 'role'>): Promise<User | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${USERS_LOCK_KEY}::bigint)`;
      if ((await tx.user.count()) > 0) return null;
      return this.insertUser(tx, context, { ...user, role: 'admin' }, 'user.setup');
    });
  }

  async createUser(context: RequestContext, user: NewUser): Promise<User> {
    return this.prisma.$transaction(async (tx) => {
      if (await tx.user.findUnique({ where: { email: user.email }, select: { id: true } })) {
        throw new AppError(ErrorCode.USER_EMAIL_TAKEN, `A user with email ${user.email} already exists`);
      }
      return this.insertUser(tx, context, user, 'user.created');
    });
  }

  private async insertUser(tx: TransactionClient, context: RequestContext, user: NewUser, kind: string): Promise<User> {
    const created = await tx.user.create({ data: { id: newId('usr'), ...user } });
    await this.auditEvents.insertAuditEvent(tx, context, {
      kind,
      entityId: created.id,
      before: null,
      after: presentUser(created),
    });
    return created;
  }

  async updateUser(
    context: RequestContext,
    id: string,
    changes: { role?: Role; passwordHash?: string },
  ): Promise<User> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${USERS_LOCK_KEY}::bigint)`;
      const before = await tx.user.findUnique({ where: { id } });
      if (!before) throw new AppError(ErrorCode.USER_NOT_FOUND, `No user ${id}`);
      if (before.role === 'admin' && changes.role && changes.role !== 'admin') {
        await this.assertAnotherAdmin(tx, id);
      }
      const ownedKeys = await tx.apiKey.findMany({ where: { createdById: id }, orderBy: { id: 'asc' } });
      const after = await tx.user.update({ where: { id }, data: changes });
      // The user's keys act with at most the user's role (checked on every request); record each key whose
      // effective role this change moves, so the audit log shows the demotion reaching the keys.
      for (const key of ownedKeys) {
        const keyBefore = presentApiKey({ ...key, createdBy: { role: before.role, email: before.email } });
        const keyAfter = presentApiKey({ ...key, createdBy: { role: after.role, email: after.email } });
        if (keyBefore.effective_role === keyAfter.effective_role) continue;
        await this.auditEvents.insertAuditEvent(tx, context, {
          kind: 'api_key.effective_role_changed',
          entityId: key.id,
          before: keyBefore,
          after: keyAfter,
        });
      }
      if (changes.passwordHash) {
        // A new password ends every other session of that user.
        await tx.session.deleteMany({ where: { userId: id } });
      }
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: changes.passwordHash ? 'user.password_changed' : 'user.updated',
        entityId: id,
        before: presentUser(before),
        after: presentUser(after),
      });
      return after;
    });
  }

  async deleteUser(context: RequestContext, id: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${USERS_LOCK_KEY}::bigint)`;
      const before = await tx.user.findUnique({ where: { id } });
      if (!before) throw new AppError(ErrorCode.USER_NOT_FOUND, `No user ${id}`);
      if (before.role === 'admin') await this.assertAnotherAdmin(tx, id);
      // A deleted user's API keys are revoked with them (one audit event each), not left behind without an owner.
      const ownedKeys = await tx.apiKey.findMany({
        where: { createdById: id },
        include: { createdBy: { select: { role: true, email: true } } },
        orderBy: { id: 'asc' },
      });
      await tx.apiKey.deleteMany({ where: { createdById: id } });
      for (const key of ownedKeys) {
        await this.auditEvents.insertAuditEvent(tx, context, {
          kind: 'api_key.revoked',
          entityId: key.id,
          before: presentApiKey(key),
          after: null,
        });
      }
      await tx.user.delete({ where: { id } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'user.deleted',
        entityId: id,
        before: presentUser(before),
        after: null,
      });
    });
  }

  async recordLogin(id: string): Promise<void> {
    await this.prisma.user.update({ where: { id }, data: { lastLoginAt: new Date() } });
  }

  private async assertAnotherAdmin(tx: TransactionClient, id: string): Promise<void> {
    const otherAdmins = await tx.user.count({ where: { role: 'admin', id: { not: id } } });
    if (otherAdmins === 0) throw new AppError(ErrorCode.LAST_ADMIN, 'Gatehouse needs at least one admin');
  }
}

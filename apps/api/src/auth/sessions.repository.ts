import { Injectable } from '@nestjs/common';
import { newId } from '../common/ids';
import { PrismaService } from '../database/prisma.service';
import type { Session, User } from '../generated/prisma/client';

@Injectable()
export class SessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  createSession(session: {
    tokenHash: string;
    userId: string;
    ip: string | null;
    userAgent: string | null;
    expiresAt: Date;
  }): Promise<Session> {
    return this.prisma.session.create({ data: { id: newId('ses'), ...session } });
  }

  findSessionByTokenHash(tokenHash: string): Promise<(Session & { user: User }) | null> {
    return this.prisma.session.findUnique({ where: { tokenHash }, include: { user: true } });
  }

  async touchSession(id: string, expiresAt: Date): Promise<void> {
    await this.prisma.session.updateMany({ where: { id }, data: { lastSeenAt: new Date(), expiresAt } });
  }

  async deleteSession(id: string): Promise<void> {
    await this.prisma.session.deleteMany({ where: { id } });
  }

  async deleteExpiredSessions(now: Date): Promise<number> {
    return (await this.prisma.session.deleteMany({ where: { expiresAt: { lt: now } } })).count;
  }
}

import { Injectable } from '@nestjs/common';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import type { ConfigChange } from '../generated/prisma/client';
import type { ConfigChangeKind, ConfigChangePayload } from '@gatehouse/contracts';

/**
 * Outbox writers take this transaction-scoped advisory lock right before inserting their row, so a transaction that
 * gets a higher revision always commits after every lower one: readers never see revision N+1 while N is in flight.
 * Same key in scripts/seed.mjs.
 */
export const CONFIG_OUTBOX_LOCK_KEY = 4_710_202_611;
/** Held while publishing, so publishers in several API processes publish in revision order. */
export const CONFIG_PUBLISH_LOCK_KEY = 4_710_202_612;

export interface NewConfigChange {
  kind: ConfigChangeKind;
  entityId: string;
  payload: ConfigChangePayload;
}

@Injectable()
export class ConfigOutboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Appends a change to the outbox inside the caller's transaction; returns its revision. */
  async appendConfigChange(tx: TransactionClient, change: NewConfigChange): Promise<bigint> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CONFIG_OUTBOX_LOCK_KEY}::bigint)`;
    const row = await tx.configChange.create({
      data: { kind: change.kind, entityId: change.entityId, payload: change.payload },
      select: { revision: true },
    });
    return row.revision;
  }

  /**
   * Runs `publish` on the unpublished changes in revision order under the publish lock, then marks those it
   * published. `publish` returns how many of the rows it delivered (it stops at the first failure).
   */
  async publishPendingChanges(
    batchSize: number,
    publish: (changes: ConfigChange[]) => Promise<number>,
  ): Promise<number> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CONFIG_PUBLISH_LOCK_KEY}::bigint)`;
        const pending = await tx.configChange.findMany({
          where: { publishedAt: null },
          orderBy: { revision: 'asc' },
          take: batchSize,
        });
        if (pending.length === 0) return 0;
        const delivered = await publish(pending);
        const last = pending[delivered - 1];
        if (last) {
          await tx.configChange.updateMany({
            where: { publishedAt: null, revision: { lte: last.revision } },
            data: { publishedAt: new Date() },
          });
        }
        return delivered;
      },
      { timeout: 15_000, maxWait: 15_000 },
    );
  }

  async findLatestRevision(): Promise<bigint> {
    const latest = await this.prisma.configChange.findFirst({
      orderBy: { revision: 'desc' },
      select: { revision: true },
    });
    return latest?.revision ?? 0n;
  }

  async findOldestRevision(): Promise<bigint | null> {
    const oldest = await this.prisma.configChange.findFirst({
      orderBy: { revision: 'asc' },
      select: { revision: true },
    });
    return oldest?.revision ?? null;
  }

  listChangesSince(since: bigint, limit: number): Promise<ConfigChange[]> {
    return this.prisma.configChange.findMany({
      where: { revision: { gt: since } },
      orderBy: { revision: 'asc' },
      take: limit,
    });
  }

  /** Deletes published changes older than `before`, always keeping the latest row (it carries the current revision). */
  async pruneChanges(before: Date): Promise<number> {
    const latest = await this.findLatestRevision();
    const result = await this.prisma.configChange.deleteMany({
      where: { createdAt: { lt: before }, publishedAt: { not: null }, revision: { lt: latest } },
    });
    return result.count;
  }
}

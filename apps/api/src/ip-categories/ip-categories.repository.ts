import { Injectable } from '@nestjs/common';
import { AuditEventsRepository } from '../audit-events/audit-events.repository';
import { SYSTEM_CONTEXT, type RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigOutboxRepository } from '../config-publisher/config-outbox.repository';
import { PrismaService, type TransactionClient } from '../database/prisma.service';
import { toSyncIpCategory } from '../dataplane-sync/sync-presenter';
import type { IpCategory } from '../generated/prisma/client';
import { presentIpCategory } from './ip-categories.presenter';

@Injectable()
export class IpCategoriesRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditEvents: AuditEventsRepository,
    private readonly outbox: ConfigOutboxRepository,
  ) {}

  listIpCategories(): Promise<IpCategory[]> {
    return this.prisma.ipCategory.findMany({ orderBy: { name: 'asc' } });
  }

  findIpCategory(name: string): Promise<IpCategory | null> {
    return this.prisma.ipCategory.findUnique({ where: { name } });
  }

  /**
   * Creates a custom category; a taken name (custom or built-in) is IP_CATEGORY_EXISTS. The insert skips on conflict (ON
   * CONFLICT DO NOTHING) instead of checking first, so two creates racing for one name cannot both win.
   */
  async createIpCategory(
    context: RequestContext,
    name: string,
    fields: { cidrs: string[]; description: string },
  ): Promise<IpCategory> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.ipCategory.createMany({
        data: [{ name, ...fields, builtin: false }],
        skipDuplicates: true,
      });
      if (count === 0) {
        throw new AppError(
          ErrorCode.IP_CATEGORY_EXISTS,
          `An IP category named ${name} already exists; edit it, or choose another name`,
        );
      }
      const category = await tx.ipCategory.findUniqueOrThrow({ where: { name } });
      await this.recordUpsert(tx, context, null, category);
      return category;
    });
  }

  /** Creates or replaces a (non-built-in) category. */
  async putIpCategory(
    context: RequestContext,
    name: string,
    fields: { cidrs: string[]; description: string },
  ): Promise<{ category: IpCategory; created: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<
        { builtin: boolean }[]
      >`SELECT builtin FROM ip_categories WHERE name = ${name} FOR UPDATE`;
      if (locked[0]?.builtin) throw new AppError(ErrorCode.IP_CATEGORY_BUILTIN, `${name} is built in and read-only`);
      const before = locked.length > 0 ? await tx.ipCategory.findUnique({ where: { name } }) : null;
      const category = await tx.ipCategory.upsert({
        where: { name },
        create: { name, ...fields, builtin: false },
        update: fields,
      });
      await this.recordUpsert(tx, context, before, category);
      return { category, created: before === null };
    });
  }

  /**
   * Stores a list fetched by the IP-category refresh as a built-in category (read-only through the API). Writes, audits
   * and publishes only when the list changed; refuses to take over a category an admin created.
   */
  async replaceRefreshedIpCategory(name: string, cidrs: string[], description: string): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT name FROM ip_categories WHERE name = ${name} FOR UPDATE`;
      const before = await tx.ipCategory.findUnique({ where: { name } });
      if (before && !before.builtin) {
        throw new AppError(ErrorCode.IP_CATEGORY_BUILTIN, `${name} is a custom category; refresh will not replace it`);
      }
      if (before && JSON.stringify(before.cidrs) === JSON.stringify(cidrs) && before.description === description) {
        return false;
      }
      const category = await tx.ipCategory.upsert({
        where: { name },
        create: { name, cidrs, description, builtin: true },
        update: { cidrs, description },
      });
      await this.recordUpsert(tx, SYSTEM_CONTEXT, before, category);
      return true;
    });
  }

  /** The audit event and the config change of a stored category, in the transaction that stored it. */
  private async recordUpsert(
    tx: TransactionClient,
    context: RequestContext,
    before: IpCategory | null,
    category: IpCategory,
  ): Promise<void> {
    await this.auditEvents.insertAuditEvent(tx, context, {
      kind: before ? 'ip_category.updated' : 'ip_category.created',
      entityId: category.name,
      before: before ? presentIpCategory(before) : null,
      after: presentIpCategory(category),
    });
    await this.outbox.appendConfigChange(tx, {
      kind: 'ip_category.upserted',
      entityId: category.name,
      payload: { endpoint: null, ip_category: toSyncIpCategory(category) },
    });
  }

  async deleteIpCategory(context: RequestContext, name: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const before = await tx.ipCategory.findUnique({ where: { name } });
      if (!before) throw new AppError(ErrorCode.IP_CATEGORY_NOT_FOUND, `No IP category ${name}`);
      if (before.builtin) throw new AppError(ErrorCode.IP_CATEGORY_BUILTIN, `${name} is built in and read-only`);
      await tx.ipCategory.delete({ where: { name } });
      await this.auditEvents.insertAuditEvent(tx, context, {
        kind: 'ip_category.deleted',
        entityId: name,
        before: presentIpCategory(before),
        after: null,
      });
      await this.outbox.appendConfigChange(tx, {
        kind: 'ip_category.deleted',
        entityId: name,
        payload: { endpoint: null, ip_category: null },
      });
    });
  }
}

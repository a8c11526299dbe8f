import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaClient } from '../generated/prisma/client';

/** A Prisma driver adapter factory: adapter-pg for Postgres, pglite-prisma-adapter in the embedded shape. */
export type DatabaseAdapter = NonNullable<NonNullable<ConstructorParameters<typeof PrismaClient>[0]>['adapter']>;

/** Nest injection token of the DatabaseAdapter the PrismaService runs on. */
export const DATABASE_ADAPTER = Symbol('DATABASE_ADAPTER');

/**
 * Nest injection token of the node-postgres Pool under the PrismaService when it runs on Postgres; null on PGlite
 * (the embedded shape). Only repositories inject it, for statements Prisma makes expensive.
 */
export const POSTGRES_POOL = Symbol('POSTGRES_POOL');

/** The database client. Only repositories (`*.repository.ts`) inject it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(DATABASE_ADAPTER) adapter: DatabaseAdapter) {
    super({ adapter });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** The transaction client handed to repository helpers that must run inside a caller's transaction. */
export type TransactionClient = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];

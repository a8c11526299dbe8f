import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { ENV, type Env } from '../env';
import { PrismaClient } from '../generated/prisma/client';

/** The database client. Only repositories (`*.repository.ts`) inject it. */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  constructor(@Inject(ENV) env: Env) {
    if (!env.DATABASE_URL) {
      throw new Error('DATABASE_URL is required (the embedded PGlite shape is not available in this build)');
    }
    // The pool connects lazily, so building the app (e.g. to write openapi.json) needs no database.
    super({ adapter: new PrismaPg({ connectionString: env.DATABASE_URL, max: 10 }) });
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}

/** The transaction client handed to repository helpers that must run inside a caller's transaction. */
export type TransactionClient = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];

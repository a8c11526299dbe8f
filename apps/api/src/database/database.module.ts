import { type DynamicModule, Global, Module } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Env } from '../env';
import { DATABASE_ADAPTER, type DatabaseAdapter, PrismaService } from './prisma.service';

/**
 * The database: Postgres at DATABASE_URL, or the driver adapter the caller opened — the embedded shape passes PGlite
 * (DESIGN.md §2), already migrated.
 */
@Global()
@Module({})
export class DatabaseModule {
  static register(env: Env, adapter?: DatabaseAdapter): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: DATABASE_ADAPTER, useValue: adapter ?? postgresAdapter(env) }, PrismaService],
      exports: [PrismaService],
    };
  }
}

function postgresAdapter(env: Env): DatabaseAdapter {
  if (!env.DATABASE_URL) {
    throw new Error(
      'DATABASE_URL is required to run the control plane on its own; `npm start` runs the embedded shape on PGlite',
    );
  }
  // The pool connects lazily, so building the app (e.g. to write openapi.json) needs no database.
  return new PrismaPg({ connectionString: env.DATABASE_URL, max: 10 });
}

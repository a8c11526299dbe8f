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
  // The pool connects lazily, so building the app (e.g. to write openapi.json) needs no database. Every wait is
  // bounded, so an unreachable or frozen Postgres answers 503 in seconds instead of queueing requests for minutes:
  // connectionTimeoutMillis covers both a new connection and the wait for a free one; statement_timeout makes Postgres
  // cancel a long statement; query_timeout stops the client waiting on a server that no longer answers at all.
  return new PrismaPg({
    connectionString: env.DATABASE_URL,
    max: env.DATABASE_POOL_SIZE,
    connectionTimeoutMillis: env.DATABASE_CONNECT_TIMEOUT_MS,
    statement_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS,
    query_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS + 1_000,
    keepAlive: true,
  });
}

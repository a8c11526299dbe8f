import { type DynamicModule, Global, Module } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Env } from '../env';
import { DATABASE_ADAPTER, type DatabaseAdapter, POSTGRES_POOL, PrismaService } from './prisma.service';

/**
 * The database: Postgres at DATABASE_URL, or the driver adapter the caller opened — the embedded shape passes PGlite
 * (DESIGN.md §2), already migrated.
 */
@Global()
@Module({})
export class DatabaseModule {
  static register(env: Env, adapter?: DatabaseAdapter): DynamicModule {
    const pool = adapter === undefined ? postgresPool(env) : null;
    return {
      module: DatabaseModule,
      providers: [
        // Prisma ends the pool when it disconnects (module destroy).
        { provide: DATABASE_ADAPTER, useValue: adapter ?? new PrismaPg(pool!, { disposeExternalPool: true }) },
        { provide: POSTGRES_POOL, useValue: pool },
        PrismaService,
      ],
      exports: [PrismaService, POSTGRES_POOL],
    };
  }
}

/**
 * The pool Prisma runs on, also handed to the few repositories that need what Prisma cannot do cheaply (the
 * request-log batch insert: Prisma serializes and re-parses every raw-query parameter, a second and third pass over
 * megabytes per batch).
 */
function postgresPool(env: Env): pg.Pool {
  if (!env.DATABASE_URL) {
    throw new Error(
      'DATABASE_URL is required to run the control plane on its own; `npm start` runs the embedded shape on PGlite',
    );
  }
  // The pool connects lazily, so building the app (e.g. to write openapi.json) needs no database. Every wait is
  // bounded, so an unreachable or frozen Postgres answers 503 in seconds instead of queueing requests for minutes:
  // connectionTimeoutMillis covers both a new connection and the wait for a free one; statement_timeout makes Postgres
  // cancel a long statement; query_timeout stops the client waiting on a server that no longer answers at all.
  const pool = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: env.DATABASE_POOL_SIZE,
    connectionTimeoutMillis: env.DATABASE_CONNECT_TIMEOUT_MS,
    statement_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS,
    query_timeout: env.DATABASE_STATEMENT_TIMEOUT_MS + 1_000,
    keepAlive: true,
  });
  // An idle client whose connection breaks (Postgres restarted or stopped) is emitted here after the pool discarded
  // it; without a listener that 'error' event ends the process. The next query connects afresh or fails with its own
  // error (503 on the API, a retried batch in the worker), so there is nothing else to do with it.
  pool.on('error', () => undefined);
  return pool;
}

import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import pg from 'pg';
import request, { type Agent as TestAgent } from 'supertest';
import { createApp } from '../src/app.factory';
import { createLogger } from '../src/common/logger';
import { type Env, type EnvInput, parseEnv } from '../src/env';
import { TEST_DATABASE_URL, TEST_DATAPLANE_TOKEN, TEST_REDIS_URL, TEST_SECRETS_KEY } from './test-env';

export interface TestApp {
  app: INestApplication;
  env: Env;
  /** An unauthenticated client. */
  http: () => TestAgent;
  /** A direct connection for assertions and setup (tests only; app code goes through repositories). */
  db: pg.Client;
  /** A direct Redis connection for setup and assertions. */
  redis: Redis;
  close: () => Promise<void>;
}

export async function createTestApp(overrides: Partial<Record<keyof EnvInput, string>> = {}): Promise<TestApp> {
  const env = parseEnv({
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    GATEHOUSE_DATAPLANE_TOKEN: TEST_DATAPLANE_TOKEN,
    GATEHOUSE_SECRETS_KEY: TEST_SECRETS_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const app = await createApp(env, createLogger(env.LOG_LEVEL));
  await app.init();
  const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await db.connect();
  const redis = new Redis(TEST_REDIS_URL);
  const server = app.getHttpServer() as Parameters<typeof request>[0];
  return {
    app,
    env,
    db,
    redis,
    http: () => request.agent(server),
    close: async () => {
      await db.end();
      redis.disconnect();
      await app.close();
    },
  };
}

const TABLES = [
  'agent_endpoint_members',
  'agent_session_dataplanes',
  'agent_sessions',
  'audit_events',
  'policy_versions',
  'endpoints',
  'sessions',
  'api_keys',
  'authtokens',
  'users',
  'config_changes',
  'dataplanes',
  'request_logs',
  'request_replay_facts',
  'traffic_rollups',
  'traffic_rollup_keys',
  'policy_rule_counters',
  'ip_categories',
  'secrets',
  'vaults',
];

const ACCOUNT_TABLES = new Set(['users', 'sessions', 'api_keys']);

/**
 * Empties every table, re-seeds the built-in IP categories and clears login rate-limit counters. With `keepAccounts`
 * users, sessions and API keys survive, so a file can log in once (password hashing is deliberately slow).
 */
export async function resetState(testApp: TestApp, options: { keepAccounts?: boolean } = {}): Promise<void> {
  const tables = options.keepAccounts ? TABLES.filter((table) => !ACCOUNT_TABLES.has(table)) : TABLES;
  await truncate(testApp.db, tables);
  // @ts-expect-error -- plain ESM script without type declarations
  const { seedBuiltinIpCategories } = (await import('../scripts/seed.mjs')) as {
    seedBuiltinIpCategories: (client: pg.Client) => Promise<number>;
  };
  await seedBuiltinIpCategories(testApp.db);
  await testApp.db.query('UPDATE config_changes SET published_at = now()');
  const keys = await testApp.redis.keys('gatehouse:login-attempts:*');
  if (keys.length > 0) await testApp.redis.del(...keys);
}

/**
 * TRUNCATE locks every table in turn, so a background transaction of the app under test that writes two of them (a
 * scheduled refresh, an outbox write) can deadlock with it; Postgres then cancels one side. Try again when it was ours.
 */
async function truncate(db: pg.Client, tables: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt === 3) throw error;
    }
  }
}

export const ADMIN = { email: 'admin@example.com', password: 'admin-password-1234' } as const;

/** Runs first-run setup and returns a client logged in as that admin. */
export async function setupAdmin(testApp: TestApp): Promise<TestAgent> {
  const agent = testApp.http();
  await agent.post('/api/auth/setup').send(ADMIN).expect(201);
  return agent;
}

/** Creates a user with `role` (through the admin) and returns a client logged in as them. */
export async function loginAs(
  testApp: TestApp,
  admin: TestAgent,
  role: 'admin' | 'editor' | 'viewer',
): Promise<TestAgent> {
  const email = `${role}-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const password = `${role}-password-1234`;
  await admin.post('/api/users').send({ email, password, role }).expect(201);
  const agent = testApp.http();
  await agent.post('/api/auth/login').send({ email, password }).expect(200);
  return agent;
}

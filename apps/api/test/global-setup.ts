import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './test-env';

/** Migrates the test database (creating it if missing) and checks that Redis answers, before any test file runs. */
export default async function setup(): Promise<void> {
  // The tests truncate every table: refuse a database that does not look like a test database.
  const database = decodeURIComponent(new URL(TEST_DATABASE_URL).pathname.slice(1));
  if (!/(^|_)test$/.test(database)) {
    throw new Error(
      `The API tests empty the database they run against; DATABASE_URL names "${database}". ` +
        'Point DATABASE_URL at a database whose name ends in _test (default gatehouse_test).',
    );
  }
  // `npm run db:migrate` in a child process: the wasm schema engine is best kept out of the test runner's process.
  execFileSync(process.execPath, [path.join(__dirname, '../scripts/db-migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL },
    stdio: 'inherit',
  });
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis at ${TEST_REDIS_URL} is unreachable: ${String(error)}`, { cause: error });
  } finally {
    redis.disconnect();
  }
}

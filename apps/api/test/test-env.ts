// Where the tests find Postgres and Redis. They must be reachable: the suite fails (never skips) without them.
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/gatehouse_test';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DATAPLANE_TOKEN = 'test-dataplane-token-0123456789';
/** GATEHOUSE_SECRETS_KEY of test apps (32 bytes, hex). */
export const TEST_SECRETS_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

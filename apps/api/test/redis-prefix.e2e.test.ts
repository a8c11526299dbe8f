// GATEHOUSE_REDIS_PREFIX: two installations on one Redis must not hear each other (contracts/redis-names.ts).
import { CONFIG_CHANNEL, ConfigChangeEventSchema } from '@gatehouse/contracts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENY_ALL_POLICY } from './policies';
import { createTestApp, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_REDIS_URL } from './test-env';

describe('an installation with GATEHOUSE_REDIS_PREFIX', () => {
  const prefix = `gh-test-${Math.random().toString(36).slice(2, 10)}`;
  let testApp: TestApp;
  let subscriber: Redis;
  const received: { channel: string; message: string }[] = [];

  beforeAll(async () => {
    testApp = await createTestApp({ GATEHOUSE_REDIS_PREFIX: prefix });
    await resetState(testApp);
    subscriber = new Redis(TEST_REDIS_URL);
    subscriber.on('message', (channel: string, message: string) => received.push({ channel, message }));
    await subscriber.subscribe(`${prefix}:config`, CONFIG_CHANNEL);
  });

  afterAll(async () => {
    subscriber.disconnect();
    const keys = await testApp.redis.keys(`${prefix}:*`);
    if (keys.length > 0) await testApp.redis.del(...keys);
    await testApp.close();
  });

  it('publishes its config changes on its own channel only', async () => {
    const admin = await setupAdmin(testApp);
    const created = await admin
      .post('/api/endpoints')
      .send({ url: `https://${prefix}.example.com`, traffic_policy: DENY_ALL_POLICY })
      .expect(201);
    const endpointId = (created.body as { id: string }).id;
    const naming = (channel: string) =>
      received.filter(
        (entry) =>
          entry.channel === channel &&
          ConfigChangeEventSchema.parse(JSON.parse(entry.message)).entity_id === endpointId,
      );
    // The API answers after publishing; the subscriber may still be reading the socket.
    await expect.poll(() => naming(`${prefix}:config`).length).toBe(1);
    expect(naming(CONFIG_CHANNEL)).toEqual([]);
  });

  it('counts login attempts under its prefix', async () => {
    await testApp.http().post('/api/auth/login').send({ email: 'nobody@example.com', password: 'wrong-password!' });
    // Two counters per attempt: the client address's and the (address, email) pair's.
    const keys = await testApp.redis.keys(`${prefix}:login-attempts:*`);
    expect(keys).toHaveLength(2);
    expect(keys.filter((key) => key.startsWith(`${prefix}:login-attempts:address:`))).toHaveLength(1);
    expect(await testApp.redis.keys('gatehouse:login-attempts:*nobody@example.com')).toEqual([]);
    expect(await testApp.redis.keys('gatehouse:login-attempts:address:*')).toEqual([]);
  });
});

import { once } from 'node:events';
import { MemoryRateLimitStore } from '@gatehouse/traffic-policy';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimitStore } from '../src/ports/redis-rate-limit-store.js';
import { uniqueId } from './helpers/dataplane-harness.js';
import { assertRedisUp, RedisChild, sharedRedisUrl } from './helpers/redis-process.js';

describe('RedisRateLimitStore on the shared Redis', () => {
  const connections: Redis[] = [];
  const connect = () => {
    const redis = new Redis(sharedRedisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 0 });
    connections.push(redis);
    return redis;
  };

  beforeAll(async () => {
    await assertRedisUp();
  });

  afterAll(() => {
    for (const redis of connections) redis.disconnect();
  });

  it('decides exactly like the engine’s in-memory store (same formula, same counts) over a random walk in time', async () => {
    const fallbacks: string[] = [];
    const redisStore = new RedisRateLimitStore(connect(), {
      timeoutMs: 2_000,
      keyPrefix: `${uniqueId('rl')}:`,
      onFallback: (reason) => fallbacks.push(reason),
    });
    const memory = new MemoryRateLimitStore();
    const windowMs = 60_000;
    let nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 300; step++) {
      nowMs += Math.floor(random() * 1_500);
      const key = random() < 0.7 ? 'alice' : 'bob';
      const window = { capacity: 7, windowMs, nowMs };
      const [fromRedis, fromMemory] = await Promise.all([redisStore.consume(key, window), memory.consume(key, window)]);
      expect(fromRedis, `step ${step} at +${nowMs % windowMs} ms`).toEqual(fromMemory);
    }
    expect(fallbacks).toEqual([]);
  });

  it('shares one bucket between stores (data planes): exactly capacity admitted in a burst from both', async () => {
    const prefix = `${uniqueId('rl')}:`;
    const first = new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: prefix });
    const second = new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: prefix });
    const window = { capacity: 25, windowMs: 60_000, nowMs: Date.now() };
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, index) => (index % 2 === 0 ? first : second).consume('shared', window)),
    );
    expect(results.filter((result) => result.admitted)).toHaveLength(25);
  });

  it('leaves an expiry on every counter', async () => {
    const prefix = `${uniqueId('rl')}:`;
    const redis = connect();
    const store = new RedisRateLimitStore(redis, { timeoutMs: 2_000, keyPrefix: prefix });
    await store.consume('ttl', { capacity: 3, windowMs: 60_000, nowMs: Date.now() });
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(121_000);
  });
});

describe('RedisRateLimitStore when Redis fails', () => {
  let child: RedisChild;

  beforeAll(async () => {
    child = await RedisChild.start();
  });

  afterAll(async () => {
    await child?.kill();
  });

  it('falls back to local counters on a timeout, then on errors once Redis is gone, counting each fallback', async () => {
    const redis = new Redis(child.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 200,
    });
    redis.on('error', () => undefined);
    const fallbacks: string[] = [];
    const store = new RedisRateLimitStore(redis, { timeoutMs: 50, onFallback: (reason) => fallbacks.push(reason) });
    try {
      await once(redis, 'ready');
      const window = { capacity: 2, windowMs: 60_000, nowMs: Date.now() };
      expect((await store.consume('k', window)).admitted).toBe(true);

      // A stalled Redis: the check answers from the fallback after the timeout instead of waiting.
      const pauser = new Redis(child.url);
      pauser.on('error', () => undefined);
      await pauser.call('CLIENT', 'PAUSE', '400', 'ALL');
      const paused = await store.consume('k', window);
      expect(paused.admitted).toBe(true);
      expect(fallbacks).toEqual(['timeout']);
      pauser.disconnect();

      // Redis gone: errors fall back at once; the local bucket enforces the same capacity.
      await child.kill();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const results = [await store.consume('k', window), await store.consume('k', window)];
      expect(results.map((result) => result.admitted)).toEqual([true, false]);
      expect(fallbacks.slice(1)).toEqual(['error', 'error']);
    } finally {
      redis.disconnect();
    }
  });
});

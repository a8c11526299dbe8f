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

  it('leased mode with a capacity under 200 reserves one unit at a time: the same decisions as exact', async () => {
    const redisStore = new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: `${uniqueId('rl')}:` });
    const memory = new MemoryRateLimitStore();
    let nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
    let seed = 11;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 300; step++) {
      nowMs += Math.floor(random() * 1_500);
      const key = random() < 0.7 ? 'alice' : 'bob';
      const window = { capacity: 7, windowMs: 60_000, nowMs };
      const [leased, exact] = await Promise.all([
        redisStore.consume(key, { ...window, mode: 'leased' }),
        memory.consume(key, window),
      ]);
      expect(leased, `step ${step}`).toEqual(exact);
    }
  });

  // The over-admission bound of leased mode, measured: K data planes (stores on their own connections, as each data
  // plane has) hammer one bucket concurrently. Documented bound: 0 over-admission, under-admission ≤ one reservation
  // (⌊capacity/100⌋) per data plane.
  it('leased mode across 4 data planes: admits ≤ capacity (bound 0), ≥ capacity − 4 reservations, in few round trips', async () => {
    const prefix = `${uniqueId('rl')}:`;
    const planes = Array.from(
      { length: 4 },
      () => new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: prefix }),
    );
    const capacity = 5_000;
    const window = { capacity, windowMs: 60_000, nowMs: Date.UTC(2026, 0, 1, 12, 0, 30), mode: 'leased' as const };
    let admitted = 0;
    let decided = 0;
    // Bursts of concurrent requests spread over the planes, until every plane has been refused.
    for (let burst = 0; burst < 40; burst++) {
      const results = await Promise.all(
        Array.from({ length: 400 }, (_, index) => planes[(index * 7 + burst) % planes.length]!.consume('hot', window)),
      );
      decided += results.length;
      admitted += results.filter((result) => result.admitted).length;
    }
    expect(decided).toBe(16_000);
    expect(admitted).toBeLessThanOrEqual(capacity);
    expect(admitted).toBeGreaterThanOrEqual(capacity - planes.length * (capacity / 100));
    const roundTrips = planes.reduce((sum, plane) => sum + plane.roundTrips, 0);
    // Exact mode takes 16,000. Leasing: ~6 per plane to reach full size (50), one per 50 admissions after that, and
    // one per plane and burst once the window is full (requests waiting on one reservation share its refusal).
    // Measured: 5,000 admitted in 231 round trips.
    expect(roundTrips).toBeLessThan(500);
  });

  it('leased mode across 3 data planes and 4 windows keeps the sliding-window rule at every admission', async () => {
    const prefix = `${uniqueId('rl')}:`;
    const planes = Array.from(
      { length: 3 },
      () => new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: prefix }),
    );
    const capacity = 1_000;
    const windowMs = 60_000;
    const start = Date.UTC(2026, 0, 1, 12, 0, 0);
    const perWindow = new Map<number, number>();
    let seed = 5;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let nowMs = start; nowMs < start + 4 * windowMs; nowMs += 1_000) {
      const burst = Math.floor(random() * 60);
      const results = await Promise.all(
        Array.from({ length: burst }, () =>
          planes[Math.floor(random() * planes.length)]!.consume('k', { capacity, windowMs, nowMs, mode: 'leased' }),
        ),
      );
      const index = Math.floor(nowMs / windowMs);
      perWindow.set(index, (perWindow.get(index) ?? 0) + results.filter((result) => result.admitted).length);
      // What exact mode guarantees after each admission: previous·(1 − f) + current ≤ capacity, with the real counts.
      const fraction = (nowMs % windowMs) / windowMs;
      const weighted = (perWindow.get(index - 1) ?? 0) * (1 - fraction) + perWindow.get(index)!;
      expect(weighted, `at +${nowMs - start} ms`).toBeLessThanOrEqual(capacity);
    }
    // The bursts (≈ 1,770 a window) are over capacity, so every window was filled up to the rule, not starved.
    for (const count of perWindow.values()) expect(count).toBeGreaterThan(capacity * 0.4);
  });

  it('weighted limits (cost): exact mode checks and charges like the in-memory store over a random walk', async () => {
    const redisStore = new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: `${uniqueId('rl')}:` });
    const memory = new MemoryRateLimitStore();
    let nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
    let seed = 13;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let refused = 0;
    for (let step = 0; step < 200; step++) {
      nowMs += Math.floor(random() * 3_000);
      const key = random() < 0.7 ? 'alice' : 'bob';
      const window = { capacity: 500, windowMs: 60_000, nowMs, mode: 'exact' as const };
      const [fromRedis, fromMemory] = await Promise.all([redisStore.check(key, window), memory.check(key, window)]);
      expect(fromRedis, `step ${step}`).toEqual(fromMemory);
      if (!fromRedis.admitted) {
        refused++;
        continue;
      }
      const tokens = 20 + Math.floor(random() * 80);
      await Promise.all([redisStore.charge(key, window, tokens), memory.charge(key, window, tokens)]);
    }
    // The walk reaches the limit (the test would pass vacuously otherwise) and recovers from it.
    expect(refused).toBeGreaterThan(10);
    expect(refused).toBeLessThan(190);
  });

  it('weighted limits in leased mode: charges spend reserved units first and never admit past the budget', async () => {
    const prefix = `${uniqueId('rl')}:`;
    const probe = connect();
    const stores = [0, 1].map(
      () => new RedisRateLimitStore(connect(), { timeoutMs: 2_000, keyPrefix: prefix, maxLeaseFraction: 0.1 }),
    );
    const nowMs = Date.now();
    const window = { capacity: 1_000, windowMs: 60_000, nowMs, mode: 'leased' as const };
    let admitted = 0;
    for (let request = 0; request < 40; request++) {
      const store = stores[request % 2]!;
      const counts = await store.check('tokens', window);
      if (!counts.admitted) break;
      admitted++;
      await store.charge('tokens', window, 75);
    }
    // 75 tokens a request: the 14th finds 13 × 75 = 975 < 1000 and is admitted, the 15th finds 1050 and is not.
    expect(admitted).toBe(14);
    const index = Math.floor(nowMs / 60_000);
    const counted = Number(await probe.get(`${prefix}{tokens}:60000:${index}`));
    // Redis holds every charged token plus at most the units the two stores still hold reserved (lost at window end).
    expect(counted).toBeGreaterThanOrEqual(14 * 75);
    expect(counted).toBeLessThanOrEqual(14 * 75 + 2 * 100);
    // Charges smaller than a held reservation cost no round trip: fewer round trips than two per request.
    const roundTrips = stores[0]!.roundTrips + stores[1]!.roundTrips;
    expect(roundTrips).toBeLessThan(2 * 15);
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

  it('leased mode: requests waiting for one stalled reservation all fall back after one timeout, not one each', async () => {
    const restarted = await RedisChild.start();
    const redis = new Redis(restarted.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    const fallbacks: string[] = [];
    const store = new RedisRateLimitStore(redis, { timeoutMs: 100, onFallback: (reason) => fallbacks.push(reason) });
    try {
      await once(redis, 'ready');
      const window = { capacity: 10_000, windowMs: 60_000, nowMs: Date.now(), mode: 'leased' as const };
      const pauser = new Redis(restarted.url);
      pauser.on('error', () => undefined);
      await pauser.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 20 }, () => store.consume('k', window)));
      // 20 timeouts one after another would take 2 s; shared, the whole burst settles within the pause.
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(results.every((result) => result.admitted)).toBe(true);
      expect(fallbacks).toEqual(['timeout']);
      pauser.disconnect();
    } finally {
      redis.disconnect();
      await restarted.kill();
    }
  });
});

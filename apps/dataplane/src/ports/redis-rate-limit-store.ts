import {
  MemoryRateLimitStore,
  type RateLimitStore,
  type RateLimitWindow,
  type SlidingWindowCounts,
} from '@gatehouse/traffic-policy';
import type { Redis } from 'ioredis';

/**
 * Global sliding-window counters on Redis, shared by every data plane: one EVALSHA per check that reads the previous
 * and current fixed-window counters, decides with the engine's formula (`admitsRequest`:
 * previous·(1 − elapsed fraction) + current + 1 ≤ capacity), INCRements only when admitted, and sets the expiry.
 *
 * Failure semantics (TRAFFIC-POLICY.md, "fail open to local"): when Redis errors or does not answer within
 * `timeoutMs`, the check runs on a per-process MemoryRateLimitStore and `onFallback` is called (a metric), so a Redis
 * outage degrades limits to per-process instead of failing or blocking traffic.
 */

/** KEYS[1] current window, KEYS[2] previous window; ARGV capacity, elapsed fraction, expiry ms. */
const slidingWindowScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local capacity = tonumber(ARGV[1])
local fraction = tonumber(ARGV[2])
if previous * (1 - fraction) + current + 1 <= capacity then
  current = redis.call('INCR', KEYS[1])
  if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return {previous, current, 1}
end
return {previous, current, 0}
`;

type SlidingWindowCommand = (
  current: string,
  previous: string,
  capacity: number,
  fraction: string,
  expiryMs: number,
) => Promise<[number, number, number]>;

export interface RedisRateLimitStoreOptions {
  timeoutMs: number;
  keyPrefix?: string;
  onFallback?: (reason: 'error' | 'timeout') => void;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly fallback = new MemoryRateLimitStore();
  readonly #prefix: string;
  readonly #command: SlidingWindowCommand;

  constructor(
    redis: Redis,
    private readonly options: RedisRateLimitStoreOptions,
  ) {
    this.#prefix = options.keyPrefix ?? 'gatehouse:rl:';
    if (!('gatehouseSlidingWindow' in redis))
      redis.defineCommand('gatehouseSlidingWindow', { numberOfKeys: 2, lua: slidingWindowScript });
    const command = (redis as unknown as { gatehouseSlidingWindow: SlidingWindowCommand }).gatehouseSlidingWindow;
    this.#command = command.bind(redis);
  }

  consume(key: string, window: RateLimitWindow): Promise<SlidingWindowCounts> {
    const { capacity, windowMs, nowMs } = window;
    const index = Math.floor(nowMs / windowMs);
    // The hash tag keeps both windows of a bucket in one Redis Cluster slot; the window length is part of the key
    // so a policy that changes `rate` starts new counters instead of misreading old ones.
    const base = `${this.#prefix}{${key}}:${windowMs}:`;
    const fraction = (nowMs % windowMs) / windowMs;
    // Counters outlive their window by one more window: that is when they stop being "previous".
    const expiryMs = windowMs * 2 + 1_000;
    return new Promise<SlidingWindowCounts>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        // Timers run before I/O in each loop turn: after a stall of the event loop (not of Redis) the answer may
        // already be waiting on the socket. Let one I/O phase pass before declaring Redis slow.
        setImmediate(() => {
          if (settled) return;
          settled = true;
          this.options.onFallback?.('timeout');
          resolve(this.fallback.consumeNow(key, capacity, windowMs, nowMs));
        });
      }, this.options.timeoutMs);
      this.#command(`${base}${index}`, `${base}${index - 1}`, capacity, String(fraction), expiryMs).then(
        ([previous, current, admitted]) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ previous: Number(previous), current: Number(current), admitted: admitted === 1 });
        },
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.options.onFallback?.('error');
          resolve(this.fallback.consumeNow(key, capacity, windowMs, nowMs));
        },
      );
    });
  }
}

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
 *
 * Leased mode (the action's default `mode: leased`): instead of one round trip per request, the store reserves units
 * of the bucket's current window with the same rule (a reservation of k units is granted only as far as
 * previous·(1 − f) + current + k ≤ capacity, so it is the exact rule applied k times at once) and admits locally
 * until they are used. f only grows within a window, so a reservation that fit when made still fits when spent: the
 * leased mode never admits more than the exact one. Units left at the end of a window are lost, so it may admit
 * less: at most the size of one reservation per data plane and window. Reservations start at 1 unit and double each
 * time one is used up in the same window, up to max(1, ⌊capacity × maxLeaseFraction⌋), so quiet buckets keep the
 * exact behaviour and a busy one costs about log2(rate) round trips per window; requests that arrive while a
 * reservation is on its way wait for it instead of asking again.
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

/** KEYS as above; ARGV capacity, elapsed fraction, expiry ms, units wanted. Grants what fits of them (0 to wanted). */
const leaseScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local fits = math.floor(tonumber(ARGV[1]) - previous * (1 - tonumber(ARGV[2])) - current)
local granted = math.min(tonumber(ARGV[4]), fits)
if granted >= 1 then
  current = redis.call('INCRBY', KEYS[1], granted)
  if current == granted then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return {previous, current, granted}
end
return {previous, current, 0}
`;

/** KEYS as above; ARGV capacity, elapsed fraction. Whether one more unit fits, counting nothing (weighted limits). */
const checkScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * (1 - tonumber(ARGV[2])) + current + 1 <= tonumber(ARGV[1]) then return {previous, current, 1} end
return {previous, current, 0}
`;

/** KEYS[1] current window; ARGV units, expiry ms. A charge for work done: counted whether it fits or not. */
const chargeScript = `
local current = redis.call('INCRBY', KEYS[1], ARGV[1])
if current == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return current
`;

type CheckCommand = (
  current: string,
  previous: string,
  capacity: number,
  fraction: string,
) => Promise<[number, number, number]>;
type ChargeCommand = (current: string, units: number, expiryMs: number) => Promise<number>;

type LeaseCommand = (
  current: string,
  previous: string,
  capacity: number,
  fraction: string,
  expiryMs: number,
  wanted: number,
) => Promise<[number, number, number]>;

/** Units this process reserved in one window of one bucket. */
interface Lease {
  index: number;
  /** Window end (epoch ms): the lease is worthless after it. */
  endsAtMs: number;
  remaining: number;
  /** Units to ask for next time. */
  size: number;
  /** The shared counts when the last reservation was granted (for `retry-after` and the trace). */
  previous: number;
  current: number;
  /** A reservation on its way; requests that find no units wait for it and share its outcome. */
  pending: Promise<Reservation> | undefined;
}

/** [previous, current, granted] from Redis, or the fallback to local counters. */
type Reservation = [number, number, number] | 'fallback';

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
  /** The largest reservation in leased mode, as a fraction of capacity (default 0.01, at least one unit). */
  maxLeaseFraction?: number;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly fallback = new MemoryRateLimitStore();
  readonly #prefix: string;
  readonly #command: SlidingWindowCommand;
  readonly #lease: LeaseCommand;
  readonly #check: CheckCommand;
  readonly #charge: ChargeCommand;
  readonly #leases = new Map<string, Lease>();
  readonly #maxLeaseFraction: number;
  #lastSweepMs = 0;
  /** Round trips to Redis so far (tests and the bench compare it with the requests decided). */
  roundTrips = 0;

  constructor(
    redis: Redis,
    private readonly options: RedisRateLimitStoreOptions,
  ) {
    this.#prefix = options.keyPrefix ?? 'gatehouse:rl:';
    this.#maxLeaseFraction = options.maxLeaseFraction ?? 0.01;
    if (!('gatehouseSlidingWindow' in redis)) {
      redis.defineCommand('gatehouseSlidingWindow', { numberOfKeys: 2, lua: slidingWindowScript });
      redis.defineCommand('gatehouseSlidingWindowLease', { numberOfKeys: 2, lua: leaseScript });
      redis.defineCommand('gatehouseSlidingWindowCheck', { numberOfKeys: 2, lua: checkScript });
      redis.defineCommand('gatehouseSlidingWindowCharge', { numberOfKeys: 1, lua: chargeScript });
    }
    const commands = redis as unknown as {
      gatehouseSlidingWindow: SlidingWindowCommand;
      gatehouseSlidingWindowLease: LeaseCommand;
      gatehouseSlidingWindowCheck: CheckCommand;
      gatehouseSlidingWindowCharge: ChargeCommand;
    };
    this.#command = commands.gatehouseSlidingWindow.bind(redis);
    this.#lease = commands.gatehouseSlidingWindowLease.bind(redis);
    this.#check = commands.gatehouseSlidingWindowCheck.bind(redis);
    this.#charge = commands.gatehouseSlidingWindowCharge.bind(redis);
  }

  /**
   * Weighted limits. Exact mode: one round trip that reads both windows and counts nothing. Leased mode: admitted
   * locally while this process holds reserved units of the window (they stay reserved for the charge); with none left
   * it reserves more with the same rule as `consume`, and admits when at least one unit was granted.
   */
  check(key: string, window: RateLimitWindow): Promise<SlidingWindowCounts> {
    const { capacity, windowMs, nowMs } = window;
    if (window.mode === 'leased') return this.#consumeLeased(key, window, false);
    const index = Math.floor(nowMs / windowMs);
    const base = this.#base(key, windowMs);
    return this.#withFallback(
      () => this.#check(`${base}${index}`, `${base}${index - 1}`, capacity, String((nowMs % windowMs) / windowMs)),
      ([previous, current, admitted]) => ({
        previous: Number(previous),
        current: Number(current),
        admitted: admitted === 1,
      }),
      () => this.fallback.checkNow(key, capacity, windowMs, nowMs),
    );
  }

  /**
   * Counts `units` in the bucket's current window, fitting or not. Leased mode spends this process's reserved units
   * first (they are already counted in Redis) and sends only the rest, so a small charge costs no round trip.
   */
  async charge(key: string, window: RateLimitWindow, units: number): Promise<void> {
    const { windowMs, nowMs } = window;
    let rest = units;
    if (window.mode === 'leased') {
      const lease = this.#leases.get(`${windowMs}:${key}`);
      if (lease !== undefined && lease.index === Math.floor(nowMs / windowMs)) {
        const spent = Math.min(lease.remaining, rest);
        lease.remaining -= spent;
        rest -= spent;
      }
    }
    if (rest > 0) await this.#chargeLater(key, window, rest);
  }

  #chargeLater(key: string, { windowMs, nowMs }: RateLimitWindow, units: number): Promise<void> {
    const index = Math.floor(nowMs / windowMs);
    return this.#withFallback(
      () => this.#charge(`${this.#base(key, windowMs)}${index}`, units, windowMs * 2 + 1_000),
      () => undefined,
      () => this.fallback.chargeNow(key, windowMs, nowMs, units),
    );
  }

  consume(key: string, window: RateLimitWindow): Promise<SlidingWindowCounts> {
    if (window.mode === 'leased') return this.#consumeLeased(key, window, true);
    const { capacity, windowMs, nowMs } = window;
    const index = Math.floor(nowMs / windowMs);
    const base = this.#base(key, windowMs);
    const fraction = (nowMs % windowMs) / windowMs;
    return this.#withFallback(
      () => this.#command(`${base}${index}`, `${base}${index - 1}`, capacity, String(fraction), windowMs * 2 + 1_000),
      ([previous, current, admitted]) => ({
        previous: Number(previous),
        current: Number(current),
        admitted: admitted === 1,
      }),
      () => this.fallback.consumeNow(key, capacity, windowMs, nowMs),
    );
  }

  /** `spend`: take one unit (consume); without, only make sure one is held (check: the charge spends them later). */
  async #consumeLeased(key: string, window: RateLimitWindow, spend: boolean): Promise<SlidingWindowCounts> {
    const { capacity, windowMs, nowMs } = window;
    const index = Math.floor(nowMs / windowMs);
    const leaseKey = `${windowMs}:${key}`;
    for (;;) {
      let lease = this.#leases.get(leaseKey);
      if (lease === undefined || lease.index !== index) {
        if (lease !== undefined && lease.index > index) {
          // A request stamped before a rollover this process has already seen: ask Redis for it alone.
          const exact = { ...window, mode: 'exact' as const };
          return spend ? this.consume(key, exact) : this.check(key, exact);
        }
        // A new window: keep the size a busy bucket reached (capped again in case the capacity changed).
        lease = {
          index,
          endsAtMs: (index + 1) * windowMs,
          remaining: 0,
          size: lease === undefined ? 1 : lease.size,
          previous: 0,
          current: 0,
          pending: undefined,
        };
        this.#leases.set(leaseKey, lease);
        this.#sweep(nowMs);
      }
      if (lease.remaining > 0) {
        if (spend) lease.remaining--;
        return { previous: lease.previous, current: lease.current - lease.remaining, admitted: true };
      }
      let outcome: Reservation;
      if (lease.pending === undefined) {
        const reserving = lease;
        const maxLease = Math.max(1, Math.floor(capacity * this.#maxLeaseFraction));
        const wanted = Math.min(maxLease, reserving.size);
        reserving.pending = this.#reserve(key, window, index, wanted).then((reservation) => {
          reserving.pending = undefined;
          if (reservation === 'fallback') return reservation;
          const [previous, current, granted] = reservation;
          reserving.previous = previous;
          reserving.current = current;
          reserving.remaining += granted;
          // Used up before the window ended: the next reservation is twice as large.
          if (granted > 0) reserving.size = Math.min(maxLease, wanted * 2);
          return reservation;
        });
        outcome = await reserving.pending;
      } else {
        outcome = await lease.pending;
      }
      // Requests that waited for the same reservation share its verdict: during an outage they all fall back at once
      // (not one timeout after another), and when the window is full they are all refused, as exact mode would.
      if (outcome === 'fallback')
        return spend
          ? this.fallback.consumeNow(key, capacity, windowMs, nowMs)
          : this.fallback.checkNow(key, capacity, windowMs, nowMs);
      if (outcome[2] === 0) return { previous: outcome[0], current: outcome[1], admitted: false };
    }
  }

  #reserve(
    key: string,
    { capacity, windowMs, nowMs }: RateLimitWindow,
    index: number,
    wanted: number,
  ): Promise<Reservation> {
    const base = this.#base(key, windowMs);
    const fraction = (nowMs % windowMs) / windowMs;
    return this.#withFallback<[number, number, number], Reservation>(
      () =>
        this.#lease(`${base}${index}`, `${base}${index - 1}`, capacity, String(fraction), windowMs * 2 + 1_000, wanted),
      ([previous, current, granted]) => [Number(previous), Number(current), Number(granted)],
      () => 'fallback',
    );
  }

  /** The hash tag keeps both windows of a bucket in one Redis Cluster slot; the window length is part of the key so a
   * policy that changes `rate` starts new counters instead of misreading old ones. Counters outlive their window by
   * one more window (the expiry passed to the scripts): that is when they stop being "previous". */
  #base(key: string, windowMs: number): string {
    return `${this.#prefix}{${key}}:${windowMs}:`;
  }

  /** Leases of windows that have ended are dropped, at most once a second, so idle buckets do not accumulate. */
  #sweep(nowMs: number): void {
    if (nowMs - this.#lastSweepMs < 1_000 || this.#leases.size < 1_024) return;
    this.#lastSweepMs = nowMs;
    for (const [key, lease] of this.#leases)
      if (lease.endsAtMs <= nowMs && lease.pending === undefined) this.#leases.delete(key);
  }

  #withFallback<Raw, Result>(
    call: () => Promise<Raw>,
    parse: (raw: Raw) => Result,
    fallback: () => Result,
  ): Promise<Result> {
    this.roundTrips++;
    return new Promise<Result>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        // Timers run before I/O in each loop turn: after a stall of the event loop (not of Redis) the answer may
        // already be waiting on the socket. Let one I/O phase pass before declaring Redis slow.
        setImmediate(() => {
          if (settled) return;
          settled = true;
          this.options.onFallback?.('timeout');
          resolve(fallback());
        });
      }, this.options.timeoutMs);
      call().then(
        (raw) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(parse(raw));
        },
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.options.onFallback?.('error');
          resolve(fallback());
        },
      );
    });
  }
}

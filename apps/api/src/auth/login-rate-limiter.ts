import type { RedisNames } from '@gatehouse/contracts';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LOGGER } from '../common/logger';
import { REDIS_NAMES } from '../bus/message-bus';
import { RedisService } from '../redis/redis.service';

export const LOGIN_ATTEMPTS_PER_WINDOW = 10;
const WINDOW_MS = 60_000;
/** Bound on the in-process fallback table, so a flood of distinct emails cannot grow it without limit. */
const MAX_LOCAL_KEYS = 10_000;

/**
 * Brute-force protection for login: at most 10 attempts per minute per (client IP, email), counted in Redis so every
 * API process shares the count. A successful login clears it. When Redis is unreachable the count falls back to this
 * process (the same rule as the data plane's rate limiter: fail open to local, never to unlimited).
 */
@Injectable()
export class LoginRateLimiter {
  private readonly local = new Map<string, { count: number; resetAt: number }>();

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS_NAMES) private readonly names: RedisNames,
    /** Absent without REDIS_URL (embedded shape): one process, so its own count is the whole count. */
    @Optional() private readonly redis?: RedisService,
  ) {}

  private key(ip: string, email: string): string {
    return `${this.names.loginAttemptsKeyPrefix}${ip}:${email}`;
  }

  /** Counts one attempt; throws LOGIN_RATE_LIMITED (429 + retry-after) when over the limit. */
  async registerAttempt(ip: string, email: string): Promise<void> {
    const key = this.key(ip, email);
    const { count, ttlMs } = this.redis
      ? await this.countInRedis(this.redis, key).catch((error: unknown) => {
          this.logger.warn({ err: error }, 'login rate limiter: Redis unreachable, counting in this process');
          return this.countLocally(key);
        })
      : this.countLocally(key);
    if (count > LOGIN_ATTEMPTS_PER_WINDOW) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
      throw new AppError(ErrorCode.LOGIN_RATE_LIMITED, `Too many login attempts; retry in ${retryAfterSeconds} s`, [], {
        'retry-after': String(retryAfterSeconds),
      });
    }
  }

  async clearAttempts(ip: string, email: string): Promise<void> {
    const key = this.key(ip, email);
    this.local.delete(key);
    await this.redis?.client.del(key).catch(() => undefined);
  }

  private async countInRedis(redis: RedisService, key: string): Promise<{ count: number; ttlMs: number }> {
    const results = await redis.client.multi().incr(key).pttl(key).exec();
    const [[incrError, count], [ttlError, ttl]] = results as [[Error | null, number], [Error | null, number]];
    if (incrError) throw incrError;
    if (ttlError) throw ttlError;
    if (ttl < 0) await redis.client.pexpire(key, WINDOW_MS);
    return { count, ttlMs: ttl < 0 ? WINDOW_MS : ttl };
  }

  private countLocally(key: string): { count: number; ttlMs: number } {
    const now = Date.now();
    let entry = this.local.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.local.size >= MAX_LOCAL_KEYS) {
        for (const [staleKey, stale] of this.local) if (stale.resetAt <= now) this.local.delete(staleKey);
        if (this.local.size >= MAX_LOCAL_KEYS) this.local.clear();
      }
      entry = { count: 0, resetAt: now + WINDOW_MS };
      this.local.set(key, entry);
    }
    entry.count += 1;
    return { count: entry.count, ttlMs: entry.resetAt - now };
  }
}

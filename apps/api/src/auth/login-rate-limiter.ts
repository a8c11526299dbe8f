import type { RedisNames } from '@gatehouse/contracts';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LOGGER } from '../common/logger';
import { REDIS_NAMES } from '../bus/message-bus';
import { RedisService } from '../redis/redis.service';
import { loginThrottleSubject } from './client-address';

/** Attempts per window for one account from one client address (guessing one password). */
export const LOGIN_ATTEMPTS_PER_WINDOW = 10;
/**
 * Attempts per window from one client address (an IPv4 address or an IPv6 /64) whatever the emails: a flood of
 * distinct, made-up emails is throttled here, so it cannot buy unlimited password hashing.
 */
export const LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW = 30;
const WINDOW_MS = 60_000;
/** Bound on the in-process fallback table; the oldest windows are dropped first when it is full. */
const MAX_LOCAL_KEYS = 10_000;

interface Count {
  count: number;
  ttlMs: number;
}

/**
 * Brute-force and flood protection for login, counted in fixed one-minute windows:
 *  - per client address (IPv4 address or IPv6 /64, see `loginThrottleSubject`) across every email, and
 *  - per (client address, email), the per-account limit a successful login clears.
 * Counts live in Redis, so every API process shares them. When Redis is unreachable (or absent: the embedded shape) they
 * live in this process (the same rule as the data plane's rate limiter: fail open to local, never to unlimited).
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

  private addressKey(subject: string): string {
    return `${this.names.loginAttemptsKeyPrefix}address:${subject}`;
  }

  private accountKey(subject: string, email: string): string {
    return `${this.names.loginAttemptsKeyPrefix}${subject}:${email}`;
  }

  /**
   * Counts one attempt from `ip` for `email`; throws LOGIN_RATE_LIMITED (429 + retry-after) when either the address or
   * the (address, email) pair is over its limit. Runs before any password hashing.
   */
  async registerAttempt(ip: string | null, email: string): Promise<void> {
    const subject = loginThrottleSubject(ip);
    const keys = [this.addressKey(subject), this.accountKey(subject, email)] as const;
    const [address, account] = this.redis
      ? await this.countInRedis(this.redis, keys).catch((error: unknown) => {
          this.logger.warn({ err: error }, 'login rate limiter: Redis unreachable, counting in this process');
          return keys.map((key) => this.countLocally(key));
        })
      : keys.map((key) => this.countLocally(key));
    if (address && address.count > LOGIN_ATTEMPTS_PER_ADDRESS_PER_WINDOW) {
      this.logger.warn({ subject, attempts: address.count }, 'login attempts from one client address throttled');
      throw limited(address.ttlMs, 'Too many login attempts from this address');
    }
    if (account && account.count > LOGIN_ATTEMPTS_PER_WINDOW) {
      throw limited(account.ttlMs, 'Too many login attempts for this account');
    }
  }

  /** After a successful login: the account's count starts again (the address's does not, so it cannot be reset). */
  async clearAttempts(ip: string | null, email: string): Promise<void> {
    const key = this.accountKey(loginThrottleSubject(ip), email);
    this.local.delete(key);
    await this.redis?.client.del(key).catch(() => undefined);
  }

  private async countInRedis(redis: RedisService, keys: readonly string[]): Promise<Count[]> {
    // One atomic round trip: open a window on a missing key (SET … NX keeps a running one), count, read its expiry.
    const transaction = redis.client.multi();
    for (const key of keys) transaction.set(key, 0, 'PX', WINDOW_MS, 'NX').incr(key).pttl(key);
    const results = (await transaction.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    return keys.map((_key, index) => {
      const count = Number(results[index * 3 + 1]?.[1]);
      const ttl = Number(results[index * 3 + 2]?.[1]);
      return { count, ttlMs: ttl > 0 ? ttl : WINDOW_MS };
    });
  }

  private countLocally(key: string): Count {
    const now = Date.now();
    let entry = this.local.get(key);
    if (!entry || entry.resetAt <= now) {
      this.local.delete(key);
      if (this.local.size >= MAX_LOCAL_KEYS) this.evictOldest();
      entry = { count: 0, resetAt: now + WINDOW_MS };
      this.local.set(key, entry);
    }
    entry.count += 1;
    return { count: entry.count, ttlMs: entry.resetAt - now };
  }

  private evictOldest(): void {
    // Insertion order is window-start order (a renewed window is re-inserted), so the front holds the oldest windows.
    const target = MAX_LOCAL_KEYS - MAX_LOCAL_KEYS / 10;
    for (const key of this.local.keys()) {
      if (this.local.size <= target) break;
      this.local.delete(key);
    }
  }
}

function limited(ttlMs: number, reason: string): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new AppError(ErrorCode.LOGIN_RATE_LIMITED, `${reason}; retry in ${retryAfterSeconds} s`, [], {
    'retry-after': String(retryAfterSeconds),
  });
}

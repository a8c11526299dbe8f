import { z } from 'zod';
import { CONFIG_CHANNEL } from './config-sync.js';
import { requestLogsTailChannel } from './request-events.js';

/**
 * Where one Gatehouse installation lives in Redis. Pub/sub channels ignore Redis database numbers, so two
 * installations on one Redis (staging and production, say) would otherwise hear each other's config changes — a data
 * plane would apply another installation's endpoints — and take each other's request logs. GATEHOUSE_REDIS_PREFIX,
 * set to the same value on the API, the worker and every data plane of an installation, keeps them apart; unset, the
 * names are the defaults below.
 */
export interface RedisNames {
  /** Pub/sub channel of ConfigChangeEvent JSON. */
  configChannel: string;
  /** Pub/sub channel of RequestLogTailMessage JSON. */
  requestLogsTailChannel: string;
  /** BullMQ key prefix of the request-log and retention queues; undefined is BullMQ's own (`bull`). */
  bullmqPrefix: string | undefined;
  /** Prefix of the global rate-limit counters. */
  rateLimitKeyPrefix: string;
  /** Prefix of the login-attempt counters. */
  loginAttemptsKeyPrefix: string;
}

/** GATEHOUSE_REDIS_PREFIX: a short name, safe in keys and channels (no `:`, no spaces, no `{}` hash tags). */
export const redisPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-" (e.g. gatehouse-staging)');

export function redisNames(prefix?: string): RedisNames {
  if (prefix === undefined) {
    return {
      configChannel: CONFIG_CHANNEL,
      requestLogsTailChannel,
      bullmqPrefix: undefined,
      rateLimitKeyPrefix: 'gatehouse:rl:',
      loginAttemptsKeyPrefix: 'gatehouse:login-attempts:',
    };
  }
  return {
    configChannel: `${prefix}:config`,
    requestLogsTailChannel: `${prefix}:request-logs:tail`,
    bullmqPrefix: `${prefix}:bull`,
    rateLimitKeyPrefix: `${prefix}:rl:`,
    loginAttemptsKeyPrefix: `${prefix}:login-attempts:`,
  };
}

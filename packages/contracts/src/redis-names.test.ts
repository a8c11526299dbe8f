import { describe, expect, it } from 'vitest';
import { CONFIG_CHANNEL } from './config-sync.js';
import { redisNames, redisPrefixSchema } from './redis-names.js';
import { requestLogsTailChannel } from './request-events.js';

describe('redisNames', () => {
  it('keeps the default names when no prefix is set', () => {
    expect(redisNames()).toEqual({
      configChannel: CONFIG_CHANNEL,
      requestLogsTailChannel,
      bullmqPrefix: undefined,
      rateLimitKeyPrefix: 'gatehouse:rl:',
      loginAttemptsKeyPrefix: 'gatehouse:login-attempts:',
    });
  });

  it('puts every name of an installation under its prefix, sharing none with the defaults', () => {
    const names = redisNames('staging');
    expect(names).toEqual({
      configChannel: 'staging:config',
      requestLogsTailChannel: 'staging:request-logs:tail',
      bullmqPrefix: 'staging:bull',
      rateLimitKeyPrefix: 'staging:rl:',
      loginAttemptsKeyPrefix: 'staging:login-attempts:',
    });
    const defaults = Object.values(redisNames());
    for (const name of Object.values(names)) expect(defaults).not.toContain(name);
  });

  it('accepts short key-safe names only', () => {
    for (const good of ['gatehouse', 'gatehouse-staging', 'prod.eu_1'])
      expect(redisPrefixSchema.safeParse(good).success).toBe(true);
    for (const bad of ['', 'a:b', 'has space', '{tag}', '-leading', 'x'.repeat(65)]) {
      expect(redisPrefixSchema.safeParse(bad).success, bad).toBe(false);
    }
  });
});

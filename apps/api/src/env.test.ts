import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from './env';

describe('parseEnv', () => {
  it('applies the documented defaults', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      API_PORT: 4000,
      LOG_LEVEL: 'info',
      GATEHOUSE_TRUSTED_PROXIES: [],
      REQUEST_LOG_RETENTION_DAYS: 7,
      REQUEST_LOG_REDACT_HEADERS: [],
    });
    expect(env.DATABASE_URL).toBeUndefined();
    // Embedded shape: a data-plane token is generated when none is configured.
    expect(env.GATEHOUSE_DATAPLANE_TOKEN.length).toBeGreaterThanOrEqual(32);
  });

  it('parses every variable', () => {
    const env = parseEnv({
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/gatehouse',
      REDIS_URL: 'redis://127.0.0.1:6379',
      API_PORT: '4100',
      GATEHOUSE_DATAPLANE_TOKEN: 'a-token-of-sixteen+',
      GATEHOUSE_ADMIN_EMAIL: 'admin@example.com',
      GATEHOUSE_ADMIN_PASSWORD: 'long-enough-password',
      GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1 ,::1/128',
      LOG_LEVEL: 'debug',
      REQUEST_LOG_RETENTION_DAYS: '30',
      REQUEST_LOG_REDACT_HEADERS: 'X-Api-Key, x-upstream-token',
    });
    expect(env).toMatchObject({
      API_PORT: 4100,
      GATEHOUSE_TRUSTED_PROXIES: ['10.0.0.0/8', '127.0.0.1', '::1/128'],
      REQUEST_LOG_RETENTION_DAYS: 30,
      REQUEST_LOG_REDACT_HEADERS: ['x-api-key', 'x-upstream-token'],
    });
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      parseEnv({
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'http://x',
        API_PORT: '99999',
        GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/33',
        LOG_LEVEL: 'loud',
        GATEHOUSE_DATAPLANE_TOKEN: 'short',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EnvError);
    const variables = (error as EnvError).problems.map((problem) => problem.split(':')[0]);
    expect(variables.sort()).toEqual([
      'API_PORT',
      'DATABASE_URL',
      'GATEHOUSE_DATAPLANE_TOKEN',
      'GATEHOUSE_TRUSTED_PROXIES',
      'LOG_LEVEL',
      'REDIS_URL',
    ]);
  });

  it('parses the outbound rules and the gateway ports, refusing entries it cannot read', () => {
    expect(parseEnv({})).toMatchObject({
      GATEHOUSE_UPSTREAM_ALLOW: ['loopback', 'private'],
      GATEHOUSE_UPSTREAM_DENY: [],
      GATEHOUSE_GATEWAY_PORTS: [8080, 8081],
      GATEHOUSE_GATEWAY_HOSTS: [],
    });
    expect(parseEnv({ GATEHOUSE_UPSTREAM_ALLOW: 'private', GATEHOUSE_GATEWAY_PORTS: '8080, 8082' })).toMatchObject({
      GATEHOUSE_UPSTREAM_ALLOW: ['private'],
      GATEHOUSE_GATEWAY_PORTS: [8080, 8082],
    });
    expect(() => parseEnv({ GATEHOUSE_UPSTREAM_DENY: 'nope!' })).toThrow(EnvError);
    expect(() => parseEnv({ GATEHOUSE_GATEWAY_PORTS: '8080,http' })).toThrow(EnvError);
    expect(() => parseEnv({ GATEHOUSE_GATEWAY_PORTS: '70000' })).toThrow(EnvError);
  });

  it('requires the bootstrap admin email and password together', () => {
    expect(() => parseEnv({ GATEHOUSE_ADMIN_EMAIL: 'admin@example.com' })).toThrow(/must be set together/);
  });

  it('refuses a whitespace-only or common bootstrap admin password, without echoing it', () => {
    for (const password of ['             ', 'password1234', 'qwerty123456!']) {
      let error: unknown;
      try {
        parseEnv({ GATEHOUSE_ADMIN_EMAIL: 'admin@example.com', GATEHOUSE_ADMIN_PASSWORD: password });
      } catch (caught) {
        error = caught;
      }
      expect(error, password).toBeInstanceOf(EnvError);
      const problems = (error as EnvError).problems;
      expect(new Set(problems.map((problem) => problem.split(':')[0]))).toEqual(new Set(['GATEHOUSE_ADMIN_PASSWORD']));
      if (password.trim() !== '') expect(problems.join('\n')).not.toContain(password);
    }
  });
});

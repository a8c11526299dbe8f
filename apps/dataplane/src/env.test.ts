import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { EnvError, parseDataplaneEnv } from './env.js';

describe('parseDataplaneEnv', () => {
  it('applies the documented defaults', () => {
    const env = parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 'secret' });
    expect(env).toMatchObject({
      DATAPLANE_PORT: 8080,
      DATAPLANE_ADMIN_PORT: 8081,
      DATAPLANE_HOST: '0.0.0.0',
      // The admin port tells endpoint counts and sync errors: loopback unless opened (issue 12, item 13).
      DATAPLANE_ADMIN_HOST: '127.0.0.1',
      GATEHOUSE_API_URL: 'http://127.0.0.1:4000',
      GATEHOUSE_DATA_DIR: './.gatehouse',
      GATEHOUSE_TRUSTED_PROXIES: [],
      DATAPLANE_IDLE_TIMEOUT_MS: 300_000,
      DATAPLANE_UPSTREAM_MAX_CONNECTIONS: 0,
      LOG_LEVEL: 'info',
    });
    // Unset: heartbeats follow the API's heartbeat_interval_seconds.
    expect(env.DATAPLANE_HEARTBEAT_INTERVAL_MS).toBeUndefined();
    expect(
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_HEARTBEAT_INTERVAL_MS: '5000' }),
    ).toMatchObject({
      DATAPLANE_HEARTBEAT_INTERVAL_MS: 5_000,
    });
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.DATAPLANE_TLS_CERT).toBeUndefined();
  });

  it('takes DATAPLANE_PUBLIC_URL as an http(s) URL, unset when empty', () => {
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_PUBLIC_URL: '' }).DATAPLANE_PUBLIC_URL).toBe(
      undefined,
    );
    expect(
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_PUBLIC_URL: ' https://gw.example.com ' })
        .DATAPLANE_PUBLIC_URL,
    ).toBe('https://gw.example.com');
    expect(() =>
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_PUBLIC_URL: 'gw.example.com:8080' }),
    ).toThrow(/DATAPLANE_PUBLIC_URL: must be an http\(s\) URL/);
  });

  it('runs one worker per available core unless DATAPLANE_WORKERS says otherwise (empty = unset)', () => {
    const cores = availableParallelism();
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's' })).toMatchObject({
      DATAPLANE_WORKERS: cores,
      DATAPLANE_STREAM_GRACE_MS: 2_000,
    });
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_WORKERS: '' }).DATAPLANE_WORKERS).toBe(cores);
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_WORKERS: '1' }).DATAPLANE_WORKERS).toBe(1);
    expect(() => parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_WORKERS: '0' })).toThrow(
      /DATAPLANE_WORKERS/,
    );
  });

  it('bounds the request-log queue at 1,000 batches unless DATAPLANE_EVENT_QUEUE_MAX_BATCHES says otherwise (0: none)', () => {
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's' }).DATAPLANE_EVENT_QUEUE_MAX_BATCHES).toBe(1_000);
    expect(
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_EVENT_QUEUE_MAX_BATCHES: '0' })
        .DATAPLANE_EVENT_QUEUE_MAX_BATCHES,
    ).toBe(0);
    for (const bad of ['-1', '2.5', 'many'])
      expect(() =>
        parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_EVENT_QUEUE_MAX_BATCHES: bad }),
      ).toThrow(/DATAPLANE_EVENT_QUEUE_MAX_BATCHES/);
  });

  it('starts 8 requests per event-loop turn unless DATAPLANE_ADMISSIONS_PER_TURN says otherwise (0: no limit)', () => {
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's' }).DATAPLANE_ADMISSIONS_PER_TURN).toBe(8);
    expect(
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_ADMISSIONS_PER_TURN: '0' })
        .DATAPLANE_ADMISSIONS_PER_TURN,
    ).toBe(0);
    for (const bad of ['-1', '2.5', 'many'])
      expect(() => parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', DATAPLANE_ADMISSIONS_PER_TURN: bad })).toThrow(
        /DATAPLANE_ADMISSIONS_PER_TURN/,
      );
  });

  it('parses the outbound rules and the proxy hop limit, refusing entries it cannot read', () => {
    const env = parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's' });
    expect(env).toMatchObject({
      GATEHOUSE_UPSTREAM_ALLOW: ['loopback', 'private'],
      GATEHOUSE_UPSTREAM_DENY: [],
      GATEHOUSE_GATEWAY_HOSTS: [],
      DATAPLANE_MAX_PROXY_HOPS: 10,
    });
    expect(
      parseDataplaneEnv({
        GATEHOUSE_DATAPLANE_TOKEN: 's',
        GATEHOUSE_UPSTREAM_ALLOW: ' 10.0.0.0/8 , mcp.corp.example,',
        GATEHOUSE_UPSTREAM_DENY: '10.9.0.0/16',
        GATEHOUSE_GATEWAY_HOSTS: 'Gateway.Example.com',
      }),
    ).toMatchObject({
      GATEHOUSE_UPSTREAM_ALLOW: ['10.0.0.0/8', 'mcp.corp.example'],
      GATEHOUSE_UPSTREAM_DENY: ['10.9.0.0/16'],
      GATEHOUSE_GATEWAY_HOSTS: ['gateway.example.com'],
    });
    expect(() =>
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', GATEHOUSE_UPSTREAM_ALLOW: 'loopback,10.0.0.0/99,bad host' }),
    ).toThrow(/GATEHOUSE_UPSTREAM_ALLOW: "10\.0\.0\.0\/99" is not a CIDR; "bad host" is neither/);
  });

  it('takes a key-safe GATEHOUSE_REDIS_PREFIX and refuses one that could collide or break hash tags', () => {
    expect(parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's' }).GATEHOUSE_REDIS_PREFIX).toBeUndefined();
    expect(
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', GATEHOUSE_REDIS_PREFIX: 'gatehouse-staging' }),
    ).toMatchObject({ GATEHOUSE_REDIS_PREFIX: 'gatehouse-staging' });
    expect(() => parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 's', GATEHOUSE_REDIS_PREFIX: 'a:{b}' })).toThrow(
      /GATEHOUSE_REDIS_PREFIX/,
    );
  });

  it('parses trusted proxies as a CIDR list and treats empty optional values as unset', () => {
    const env = parseDataplaneEnv({
      GATEHOUSE_DATAPLANE_TOKEN: 'secret',
      GATEHOUSE_TRUSTED_PROXIES: ' 10.0.0.0/8, ::1/128 ,',
      REDIS_URL: '',
      DATAPLANE_TLS_CERT: ' ',
    });
    expect(env.GATEHOUSE_TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '::1/128']);
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.DATAPLANE_TLS_CERT).toBeUndefined();
  });

  it('lists every bad variable at once and never echoes secrets', () => {
    let thrown: unknown;
    try {
      parseDataplaneEnv({
        DATAPLANE_PORT: '70000',
        DATAPLANE_ADMIN_PORT: 'x',
        GATEHOUSE_API_URL: 'not a url',
        REDIS_URL: 'nope',
        GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/33',
        LOG_LEVEL: 'loud',
        DATAPLANE_TLS_KEY: '/secret/key.pem',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EnvError);
    const problems = (thrown as EnvError).problems.join('\n');
    for (const name of [
      'DATAPLANE_PORT',
      'DATAPLANE_ADMIN_PORT',
      'GATEHOUSE_API_URL',
      'REDIS_URL',
      'GATEHOUSE_TRUSTED_PROXIES',
      'LOG_LEVEL',
      'GATEHOUSE_DATAPLANE_TOKEN',
      'DATAPLANE_TLS_CERT / DATAPLANE_TLS_KEY',
    ]) {
      expect(problems).toContain(name);
    }
    expect(problems).not.toContain('/secret/key.pem');
  });

  it('refuses client CAs (mutual TLS) without a server certificate', () => {
    expect(() =>
      parseDataplaneEnv({ GATEHOUSE_DATAPLANE_TOKEN: 'secret', DATAPLANE_TLS_CLIENT_CA: '/etc/ca.pem' }),
    ).toThrow(/DATAPLANE_TLS_CLIENT_CA: needs DATAPLANE_TLS_CERT/);
    const env = parseDataplaneEnv({
      GATEHOUSE_DATAPLANE_TOKEN: 'secret',
      DATAPLANE_TLS_CERT: '/etc/cert.pem',
      DATAPLANE_TLS_KEY: '/etc/key.pem',
      DATAPLANE_TLS_CLIENT_CA: '/etc/ca.pem',
    });
    expect(env.DATAPLANE_TLS_CLIENT_CA).toBe('/etc/ca.pem');
  });
});

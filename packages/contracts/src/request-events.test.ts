import { describe, expect, it } from 'vitest';
import { redactedHeaderSet, redactLogMetadata, requestEventSchema, withoutRedactedHeaders } from './request-events.js';
import { sampleRequestEvent } from './testing/index.js';

const event = sampleRequestEvent({
  status: 401,
  upstream_duration_ms: null,
  forwarded_to: null,
  decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'require-auth', action: 'deny' },
});

describe('request event contract', () => {
  it('accepts a full event and defaults what older data planes do not send', () => {
    expect(requestEventSchema.parse(event)).toEqual(event);
    const {
      trace: _trace,
      runtime_errors: _errors,
      caller: _caller,
      ai_gateway: _ai,
      shadow: _shadow,
      ...older
    } = event;
    const parsed = requestEventSchema.parse(older);
    expect(parsed.ai_gateway).toBeNull();
    expect(parsed.shadow).toBeNull();
    expect(parsed.trace).toEqual([]);
    expect(parsed.runtime_errors).toEqual([]);
    expect(parsed.caller).toBeNull();
  });

  it('rejects events the worker could not store', () => {
    expect(requestEventSchema.safeParse({ ...event, id: '' }).success).toBe(false);
    expect(requestEventSchema.safeParse({ ...event, status: 1000 }).success).toBe(false);
    expect(requestEventSchema.safeParse({ ...event, timestamp: 'yesterday' }).success).toBe(false);
    expect(
      requestEventSchema.safeParse({
        ...event,
        decision: { phase: 'nope', rule_index: 0, rule_name: null, action: 'deny' },
      }).success,
    ).toBe(false);
  });

  it('cuts over-long text and lists instead of rejecting the event (a long URL must not hide a request)', () => {
    const parsed = requestEventSchema.parse({
      ...event,
      path: `/${'a'.repeat(100_000)}`,
      user_agent: 'u'.repeat(10_000),
      logs: Array.from({ length: 300 }, () => ({ n: 1 })),
    });
    expect(parsed.path).toHaveLength(16_384);
    expect(parsed.user_agent).toHaveLength(4_096);
    expect(parsed.logs).toHaveLength(256);
  });

  it('cuts inside nullable, nested and recorded fields too, leaving values within their limits as they are', () => {
    const header = (index: number): [string, string] => [`x-h${index}`, index === 0 ? 'v'.repeat(5_000) : 'short'];
    const parsed = requestEventSchema.parse({
      ...event,
      decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'r'.repeat(2_000), action: 'deny' },
      trace: [
        {
          endpoint_id: 'ep_1',
          phase: 'on_http_request',
          rule_index: 0,
          rule_name: null,
          matched: true,
          actions: Array.from({ length: 300 }, () => ({ type: 'deny', result: 'responded' })),
        },
      ],
      replay: {
        method: 'POST',
        scheme: 'https',
        host: 'mcp.example.com',
        port: '443',
        path: `/${'p'.repeat(20_000)}`,
        query: '',
        headers: Array.from({ length: 70 }, (_, index) => header(index)),
        client_ip: '203.0.113.7',
        client_ip_categories: [],
        server_port: 443,
        tls: null,
        mcp: null,
      },
    });
    expect(parsed.decision?.rule_name).toHaveLength(1_024);
    expect(parsed.decision?.action).toBe('deny');
    expect(parsed.trace[0]?.actions).toHaveLength(256);
    expect(parsed.replay?.path).toHaveLength(16_384);
    expect(parsed.replay?.headers).toHaveLength(64);
    expect(parsed.replay?.headers[0]?.[1]).toHaveLength(1_024);
    expect(parsed.replay?.headers[1]).toEqual(['x-h1', 'short']);
  });

  it('removes secret headers and their copies in log metadata', () => {
    const redacted = redactedHeaderSet(['X-Api-Key']);
    expect(
      withoutRedactedHeaders(
        { Authorization: 'Bearer x', 'x-api-key': 'k', Accept: '*/*', 'Set-Cookie': ['a'] },
        redacted,
      ),
    ).toEqual({ Accept: '*/*' });
    expect(redactLogMetadata([{ headers: { cookie: 'a=b', accept: 'x' }, 'X-API-KEY': 'k' }], redacted)).toEqual([
      { headers: { cookie: '[REDACTED]', accept: 'x' }, 'X-API-KEY': '[REDACTED]' },
    ]);
  });
});

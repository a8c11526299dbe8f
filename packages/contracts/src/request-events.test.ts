import { describe, expect, it } from 'vitest';
import {
  redactedHeaderSet,
  redactLogMetadata,
  requestEventSchema,
  type RequestEventInput,
  withoutRedactedHeaders,
} from './request-events.js';

const event = {
  id: '5b1c8f0e-2f7d-4a7e-9f55-0a1f3c2b9d11',
  timestamp: '2026-11-24T09:00:00.000Z',
  endpoint_id: 'ep_1',
  endpoint_url: 'https://mcp.example.com',
  policy_version: 2,
  method: 'POST',
  host: 'mcp.example.com',
  path: '/mcp',
  query: '',
  status: 401,
  duration_ms: 1.25,
  upstream_duration_ms: null,
  bytes_in: 120,
  bytes_out: 22,
  client_ip: '160.79.104.10',
  client_ip_categories: ['com.anthropic.api'],
  user_agent: 'curl/8',
  forwarded_to: null,
  decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'require-auth', action: 'deny' },
  rules_matched: [{ phase: 'on_http_request', rule_index: 1, rule_name: 'require-auth', endpoint_id: 'ep_1' }],
  error_code: null,
  logs: [],
  mcp: { method: 'tools/call', tool: 'search', protocol_version: '2025-06-18' },
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  runtime_errors: [],
  trace: [
    { endpoint_id: 'ep_1', phase: 'on_http_request', rule_index: 0, rule_name: null, matched: false, actions: [] },
    {
      endpoint_id: 'ep_1',
      phase: 'on_http_request',
      rule_index: 1,
      rule_name: 'require-auth',
      matched: true,
      actions: [{ type: 'deny', result: 'responded', detail: 'status 401' }],
    },
  ],
} satisfies RequestEventInput;

describe('request event contract', () => {
  it('accepts a full event and defaults what older data planes do not send', () => {
    expect(requestEventSchema.parse(event)).toEqual(event);
    const { trace: _trace, runtime_errors: _errors, ...older } = event;
    const parsed = requestEventSchema.parse(older);
    expect(parsed.trace).toEqual([]);
    expect(parsed.runtime_errors).toEqual([]);
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

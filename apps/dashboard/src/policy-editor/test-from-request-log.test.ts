import { PolicyTestCasesSchema } from '@gatehouse/contracts';
import { compile, runPolicyTests } from '@gatehouse/traffic-policy';
import { describe, expect, it } from 'vitest';
import type { RequestLog, RequestLogSummary } from '../api/request-logs.api';
import { testCaseFromRequestLog } from './test-from-request-log';

const policy = `on_http_request:
  - name: Allow only Anthropic
    expressions: ["!('com.anthropic.api' in conn.client_ip.categories)"]
    actions:
      - type: deny
        config: { status_code: 403 }
  - name: Require an Authorization header
    expressions: ["!('x-api-key' in req.headers)"]
    actions:
      - type: deny
        config: { status_code: 401 }
  - actions:
      - type: forward-internal
        config: { url: https://mcp.example.internal }
`;

const denied = {
  timestamp: '2026-11-24T09:00:00.000Z',
  endpoint_id: 'ep_1',
  method: 'POST',
  path: '/mcp',
  query: 'x=1',
  status: 401,
  client_ip: '160.79.104.10',
  client_ip_categories: ['com.anthropic.api'],
  forwarded_to: null,
  decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'Require an Authorization header', action: 'deny' },
} as RequestLogSummary;

const endpoint = { url: 'https://mcp.example.com', type: 'cloud' as const };

describe('testCaseFromRequestLog', () => {
  it('makes a valid case that the deciding policy passes: request, categories, time, status and decision', async () => {
    const testCase = testCaseFromRequestLog(denied, undefined);
    expect(PolicyTestCasesSchema.parse([testCase])).toEqual([testCase]);
    expect(testCase).toEqual({
      name: 'POST /mcp → 401 (2026-11-24T09:00:00.000Z)',
      request: {
        method: 'POST',
        path: '/mcp?x=1',
        client_ip: '160.79.104.10',
        client_ip_categories: ['com.anthropic.api'],
        time: '2026-11-24T09:00:00.000Z',
      },
      expect: {
        status: 401,
        decision: { rule: 'Require an Authorization header', action: 'deny', phase: 'on_http_request' },
      },
    });
    const report = await runPolicyTests(compile(policy, { endpointType: 'cloud' }), [testCase], { endpoint });
    expect(report).toMatchObject({ passed: 1, failed: 0 });
  });

  it('keeps captured headers (not host or content-length) and expects only the decision of a forwarded request', async () => {
    const forwarded = {
      ...denied,
      status: 404,
      forwarded_to: 'https://mcp.example.internal',
      decision: { phase: 'on_http_request', rule_index: 2, rule_name: null, action: 'forward-internal' },
    } as RequestLogSummary;
    const detail = {
      request_headers: { host: 'mcp.example.com', 'content-length': '2', 'x-api-key': 'k', accept: ['a', 'b'] },
    } as unknown as RequestLog;
    const testCase = testCaseFromRequestLog(forwarded, detail);
    expect(testCase.request.headers).toEqual({ 'x-api-key': 'k', accept: ['a', 'b'] });
    expect(testCase.expect).toEqual({ decision: { rule: 2, action: 'forward-internal', phase: 'on_http_request' } });
    const report = await runPolicyTests(compile(policy, { endpointType: 'cloud' }), [testCase], { endpoint });
    expect(report).toMatchObject({ passed: 1, failed: 0 });
  });
});

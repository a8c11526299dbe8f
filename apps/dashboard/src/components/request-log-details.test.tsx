import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import type { PolicyVersion } from '../api/policy-versions.api';
import { policyVersionKeys } from '../api/query-keys';
import { parseTailMessage, type RequestLog, type RequestLogSummary } from '../api/request-logs.api';
import { aiTokensLabel, callerLabel, RequestLogDetails } from './request-log-details';

const deniedRequest: RequestLogSummary = {
  id: 'req_1',
  uri: '/api/request-logs/req_1',
  seq: 1,
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
  user_agent: 'mcp-client',
  forwarded_to: null,
  decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'Require an Authorization header', action: 'deny' },
  rules_matched: [
    { phase: 'on_http_request', rule_index: 1, rule_name: 'Require an Authorization header', endpoint_id: 'ep_1' },
  ],
  error_code: null,
  logs: [],
  mcp: { method: 'tools/call', tool: 'search', protocol_version: '2025-06-18' },
  caller: null,
  trace_id: null,
  ai_gateway: null,
};

const deniedRequestDetail: RequestLog = {
  ...deniedRequest,
  policy_version_uri: '/api/endpoints/ep_1/policy-versions/2',
  endpoint_uri: '/api/endpoints/ep_1',
  trace: [
    {
      endpoint_id: 'ep_1',
      phase: 'on_http_request',
      rule_index: 0,
      rule_name: 'Allow only Anthropic',
      matched: false,
      actions: [],
    },
    {
      endpoint_id: 'ep_1',
      phase: 'on_http_request',
      rule_index: 1,
      rule_name: 'Require an Authorization header',
      matched: true,
      actions: [{ type: 'deny', result: 'responded', detail: 'status 401' }],
    },
  ],
  runtime_errors: [],
  request_headers: null,
  response_headers: null,
  request_body: null,
  response_body: null,
};

/** Version 2 of ep_1, the policy that decided: already fetched, as the drawer finds it after the first look. */
const decidingPolicy: PolicyVersion = {
  endpoint_id: 'ep_1',
  version: 2,
  uri: '/api/endpoints/ep_1/policy-versions/2',
  tests: [],
  test_result: null,
  traffic_policy: `on_http_request:
  - name: Allow only Anthropic
    expressions: ["!('com.anthropic.api' in conn.client_ip.categories)"]
    actions:
      - type: deny
        config: { status_code: 403 }
  - name: Require an Authorization header
    expressions: ["!('authorization' in req.headers)"]
    actions:
      - type: deny
        config: { status_code: 401 }
  - name: Limit
    actions:
      - type: rate-limit
        config: { capacity: 1, rate: 1m, bucket_key: [conn.client_ip] }
`,
  message: '',
  sha256: '0'.repeat(64),
  created_by: 'admin@example.com',
  created_at: '2026-11-24T09:00:00.000Z',
  restored_from: null,
  active: true,
};

function Providers({ children }: { children: ReactNode }) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  queryClient.setQueryData(policyVersionKeys.detail('ep_1', 2), decidingPolicy);
  return (
    <MantineProvider>
      <QueryClientProvider client={queryClient}>
        <MemoryRouter>{children}</MemoryRouter>
      </QueryClientProvider>
    </MantineProvider>
  );
}

function renderDetails(detail: RequestLog | undefined, summary: RequestLogSummary = deniedRequest) {
  render(
    <Providers>
      <RequestLogDetails summary={summary} detail={detail} />
    </Providers>,
  );
}

describe('RequestLogDetails', () => {
  it('leads with the deciding rule and links the policy version that decided', () => {
    renderDetails(deniedRequestDetail);
    const decision = screen.getByTestId('request-log-decision');
    expect(decision.textContent).toContain('Rule 2 “Require an Authorization header”');
    expect(decision.textContent).toContain('deny');
    expect(screen.getByRole('link', { name: 'version 2' }).getAttribute('href')).toBe('/endpoints/ep_1/versions');
    expect(screen.getByText('com.anthropic.api')).toBeTruthy();
    expect(screen.getByText('tools/call')).toBeTruthy();
    expect(screen.getByText(/status 401/)).toBeTruthy();
  });

  it('shows captured headers and bodies when the endpoint opted in, and no such sections otherwise', () => {
    renderDetails({
      ...deniedRequestDetail,
      request_headers: { 'content-type': 'application/json', 'x-tag': ['a', 'b'] },
      response_headers: { 'content-type': 'text/plain' },
      request_body: '{"jsonrpc":"2.0","method":"tools/call"}',
      response_body: 'Authorization required',
    });
    expect(screen.getByRole('heading', { name: 'Request headers' })).toBeTruthy();
    expect(screen.getByText(/"x-tag": \[/)).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Request body' })).toBeTruthy();
    // JSON is pretty-printed to be read; other bodies are shown as they came.
    expect(document.querySelector('[data-format=json]')?.textContent).toBe(
      '{\n  "jsonrpc": "2.0",\n  "method": "tools/call"\n}',
    );
    expect(screen.getByRole('heading', { name: 'Response body' })).toBeTruthy();
    expect(screen.getByText('Authorization required')).toBeTruthy();
  });

  it('leaves out header and body sections when nothing was captured', () => {
    renderDetails(deniedRequestDetail);
    for (const name of ['Request headers', 'Response headers', 'Request body', 'Response body'])
      expect(screen.queryByRole('heading', { name })).toBeNull();
  });

  it('says when nothing identified the caller', () => {
    renderDetails(deniedRequestDetail);
    expect(screen.getByText(/not identified/)).toBeTruthy();
  });

  it('shows every fact known about the caller, and only those', () => {
    const caller = {
      subject: 'user-42',
      client_id: 'claude',
      issuer: 'https://auth.example.com',
      basic_auth_user: null,
      credential_fingerprint: 'sha256:0123456789abcdef',
    };
    renderDetails({ ...deniedRequestDetail, caller }, { ...deniedRequest, caller });
    const facts = screen.getByTestId('request-log-caller').textContent ?? '';
    expect(facts).toContain('subject user-42');
    expect(facts).toContain('client claude');
    expect(facts).toContain('issuer https://auth.example.com');
    expect(facts).toContain('credential fingerprint sha256:0123456789abcdef');
    expect(facts).not.toContain('basic-auth user');
  });

  it('shows what ai-gateway did: who answered, tokens, cost and every attempt with its error', () => {
    const ai_gateway: NonNullable<RequestLogSummary['ai_gateway']> = {
      format: 'openai',
      status: 'success',
      error_code: null,
      requested_model: 'gpt-4o',
      provider: 'openai',
      model: 'gpt-4o',
      attempts: [
        {
          provider: 'openai',
          model: 'gpt-4o',
          api_key: 'sha256:0123456789abcdef',
          status: 'error',
          status_code: 429,
          error: 'provider answered 429',
          duration_ms: 12,
        },
        {
          provider: 'openai',
          model: 'gpt-4o',
          api_key: 'sha256:fedcba9876543210',
          status: 'success',
          status_code: 200,
          error: null,
          duration_ms: 80,
        },
      ],
      input_tokens_estimated: 10,
      input_tokens: 11,
      output_tokens: 5,
      cost_usd: 0.0000775,
      client_key_hash: null,
      streamed: true,
    };
    renderDetails({ ...deniedRequestDetail, ai_gateway }, { ...deniedRequest, ai_gateway });
    const facts = screen.getByTestId('request-log-ai-gateway').textContent ?? '';
    expect(facts).toContain('openai:gpt-4o');
    expect(facts).toContain('11 in / 5 out, $0.0000775, streamed');
    expect(facts).toContain('sha256:0123456789abcdef');
    expect(facts).toContain('provider answered 429');
    expect(aiTokensLabel({ ...ai_gateway, input_tokens: null, output_tokens: null })).toBe('~10 in (estimated)');
  });

  it("shows the deciding rule's expression and why the client is outside the category it tests (issue 19)", () => {
    const outsider: RequestLogSummary = {
      ...deniedRequest,
      status: 403,
      client_ip: '203.0.113.7',
      client_ip_categories: [],
      decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'Allow only Anthropic', action: 'deny' },
    };
    renderDetails(undefined, outsider);
    expect(screen.getByTestId('request-log-rule-expression').textContent).toContain(
      "!('com.anthropic.api' in conn.client_ip.categories)",
    );
    expect(screen.getByTestId('request-log-category-finding').textContent).toBe(
      '203.0.113.7 is not in the IP category com.anthropic.api (it is in no category).',
    );
  });

  it('labels a 429 as a rate limit, not as a gateway error (issue 19)', () => {
    const limited: RequestLogSummary = {
      ...deniedRequest,
      status: 429,
      error_code: 'RATE_LIMITED',
      decision: { phase: 'on_http_request', rule_index: 2, rule_name: 'Limit', action: 'rate-limit' },
    };
    renderDetails(undefined, limited);
    const outcome = screen.getByTestId('request-log-outcome').textContent ?? '';
    expect(outcome).toContain('Rate limited');
    expect(outcome).not.toContain('Gateway error');
    expect(screen.getByText('429 rate limited')).toBeTruthy();
  });

  it('still calls an upstream failure a gateway error', () => {
    renderDetails(undefined, { ...deniedRequest, status: 502, error_code: 'UPSTREAM_UNAVAILABLE', decision: null });
    expect(screen.getByTestId('request-log-outcome').textContent).toMatch(/^Gateway error UPSTREAM_UNAVAILABLE — /);
  });

  it('offers the request as a curl command with what was captured', () => {
    renderDetails(
      {
        ...deniedRequestDetail,
        query: 'a=1',
        request_headers: { 'content-type': 'application/json', host: 'mcp.example.com' },
        request_body: `{"q":"it's"}`,
      },
      { ...deniedRequest, query: 'a=1' },
    );
    expect(screen.getByTestId('request-log-curl').textContent).toBe(
      `curl \\\n  -X POST \\\n  'https://mcp.example.com/mcp?a=1' \\\n  -H 'content-type: application/json' \\\n  --data-raw '{"q":"it'\\''s"}'`,
    );
    expect(screen.getByRole('button', { name: 'Copy as curl' })).toBeTruthy();
  });

  it('shows the matched rules while the full trace loads', () => {
    renderDetails(undefined);
    expect(
      screen.getByText(/Loading the trace… Matched: on_http_request #2 Require an Authorization header/),
    ).toBeTruthy();
  });
});

describe('callerLabel', () => {
  const nobody = { subject: null, client_id: null, issuer: null, basic_auth_user: null, credential_fingerprint: null };
  it('prefers the subject, then the basic-auth user, the client, the fingerprint', () => {
    expect(callerLabel({ ...nobody, subject: 's', basic_auth_user: 'u', client_id: 'c' })).toBe('s');
    expect(callerLabel({ ...nobody, basic_auth_user: 'u', client_id: 'c' })).toBe('u');
    expect(callerLabel({ ...nobody, client_id: 'c', credential_fingerprint: 'sha256:1' })).toBe('c');
    expect(callerLabel({ ...nobody, credential_fingerprint: 'sha256:1' })).toBe('sha256:1');
    expect(callerLabel(null)).toBeNull();
    expect(callerLabel(undefined)).toBeNull();
  });
});

describe('parseTailMessage', () => {
  it('accepts one event or a batch and drops what is not an event', () => {
    expect(parseTailMessage(JSON.stringify(deniedRequest)).map((row) => row.id)).toEqual(['req_1']);
    expect(parseTailMessage(JSON.stringify([deniedRequest, { nope: true }, 3])).map((row) => row.id)).toEqual([
      'req_1',
    ]);
  });
});

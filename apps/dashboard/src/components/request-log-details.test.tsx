import { MantineProvider } from '@mantine/core';
import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { parseTailMessage, type RequestLog, type RequestLogSummary } from '../api/request-logs.api';
import { callerLabel, RequestLogDetails } from './request-log-details';

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

function renderDetails(detail: RequestLog | undefined) {
  render(
    <MantineProvider>
      <MemoryRouter>
        <RequestLogDetails summary={deniedRequest} detail={detail} />
      </MemoryRouter>
    </MantineProvider>,
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
    expect(screen.getByText('{"jsonrpc":"2.0","method":"tools/call"}')).toBeTruthy();
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
    render(
      <MantineProvider>
        <MemoryRouter>
          <RequestLogDetails summary={{ ...deniedRequest, caller }} detail={{ ...deniedRequestDetail, caller }} />
        </MemoryRouter>
      </MantineProvider>,
    );
    const facts = screen.getByTestId('request-log-caller').textContent ?? '';
    expect(facts).toContain('subject user-42');
    expect(facts).toContain('client claude');
    expect(facts).toContain('issuer https://auth.example.com');
    expect(facts).toContain('credential fingerprint sha256:0123456789abcdef');
    expect(facts).not.toContain('basic-auth user');
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

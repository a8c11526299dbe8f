import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useQuery } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endpointQueries, type Endpoint } from '../api/endpoints.api';
import type { RequestLogSummary } from '../api/request-logs.api';
import type { ShadowPolicy } from '../api/shadow-policy.api';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import { PolicyShadowPanel } from './policy-shadow-panel';

const active = `on_http_request:
  - actions: [{ type: custom-response, config: { status_code: 200, body: hello } }]
`;
const draft = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny }]
`;

const endpoint: Endpoint = {
  id: 'ep_1',
  uri: '/api/endpoints/ep_1',
  url: 'https://shop.example.com',
  type: 'cloud',
  proto: 'https',
  host: 'shop.example.com',
  port: 443,
  description: '',
  metadata: '',
  upstream_url: null,
  upstream_host_header: 'preserve',
  request_log_capture: { headers: false, bodies: false },
  agent: null,
  traffic_policy: active,
  policy_version: 2,
  shadow_policy: null,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:05:00Z',
};

const shadow: ShadowPolicy = {
  traffic_policy: draft,
  sha256: 'ab'.repeat(32),
  message: 'Draft from the policy editor',
  created_at: '2026-11-24T10:00:00Z',
};

const difference: RequestLogSummary = {
  id: 'req_1',
  uri: '/api/request-logs/req_1',
  seq: 1,
  timestamp: '2026-11-24T10:01:00Z',
  endpoint_id: 'ep_1',
  endpoint_url: 'https://shop.example.com',
  policy_version: 2,
  method: 'GET',
  host: 'shop.example.com',
  path: '/admin/users',
  query: '',
  status: 200,
  duration_ms: 1,
  upstream_duration_ms: null,
  bytes_in: 0,
  bytes_out: 5,
  client_ip: '203.0.113.7',
  client_ip_categories: [],
  user_agent: null,
  forwarded_to: null,
  decision: { phase: 'on_http_request', rule_index: 0, rule_name: null, action: 'custom-response' },
  rules_matched: [],
  error_code: null,
  logs: [],
  mcp: null,
  caller: null,
  trace_id: null,
  ai_gateway: null,
  shadow: {
    sha256: shadow.sha256,
    outcome: 'respond',
    status: 403,
    forwarded_to: null,
    decision: { phase: 'on_http_request', rule_index: 0, rule_name: 'block admin', action: 'deny' },
    differs: true,
  },
};

/** The panel as the policy page shows it: fed by the cached endpoint, so mutations that rewrite it show. */
function PanelOfCachedEndpoint() {
  const current = useQuery(endpointQueries.detail('ep_1')).data;
  return current ? <PolicyShadowPanel endpoint={current} draft={draft} canEdit /> : null;
}

function renderPanel() {
  return renderRoutes(
    [{ path: '/endpoints/:endpointId/policy', element: <PanelOfCachedEndpoint /> }],
    '/endpoints/ep_1/policy',
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('PolicyShadowPanel', () => {
  it('publishes the draft as shadow, then lists the requests it decides differently', async () => {
    let stored: Endpoint = endpoint;
    const api = stubFetch(async (request) => {
      const url = new URL(request.url);
      if (request.method === 'GET' && url.pathname === '/api/endpoints/ep_1') return jsonResponse(200, stored);
      if (request.method === 'PUT' && url.pathname === '/api/endpoints/ep_1/shadow-policy') {
        const body = (await request.json()) as { traffic_policy: string };
        stored = { ...endpoint, shadow_policy: { ...shadow, traffic_policy: body.traffic_policy } };
        return jsonResponse(200, stored);
      }
      if (request.method === 'GET' && url.pathname === '/api/request-logs')
        return jsonResponse(200, { request_logs: [difference], next_page_uri: null });
      return jsonResponse(404, { error_code: 'NOT_FOUND', message: `no stub for ${request.method} ${url.pathname}` });
    });
    vi.stubGlobal('fetch', api.fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPanel();

    expect(await screen.findByTestId('shadow-empty')).toBeTruthy();
    await user.click(screen.getByTestId('shadow-publish-draft'));

    expect((await screen.findByTestId('shadow-sha256')).textContent).toContain('abababababab');
    expect(screen.getByTestId('shadow-message').textContent).toContain('Draft from the policy editor');
    await waitFor(() => expect(screen.getByTestId('shadow-difference-count').textContent).toContain('1 differs'));
    const row = within(screen.getByTestId('shadow-differences')).getByRole('link', { name: 'GET /admin/users' });
    expect(row.getAttribute('href')).toBe('/request-logs?request=req_1');
    expect(screen.getByTestId('shadow-differences').textContent).toContain('403 (deny)');
    // The draft now is the shadow: publishing it again would change nothing.
    expect(screen.getByTestId('shadow-publish-draft').hasAttribute('disabled')).toBe(true);

    const put = api.requests.find((request) => request.method === 'PUT');
    expect(await put?.json()).toEqual({ traffic_policy: draft, message: 'Draft from the policy editor' });
    const list = new URL(api.requests.find((request) => request.url.includes('/api/request-logs'))!.url);
    expect(Object.fromEntries(list.searchParams)).toMatchObject({
      endpoint_id: 'ep_1',
      shadow: 'differs',
      from: shadow.created_at,
    });
  });

  it('promotes with the shown sha256 and explains a shadow replaced meanwhile', async () => {
    let promoteAnswer = 409;
    let stored: Endpoint = { ...endpoint, shadow_policy: shadow };
    const api = stubFetch((request) => {
      const url = new URL(request.url);
      if (request.method === 'GET' && url.pathname === '/api/endpoints/ep_1') return jsonResponse(200, stored);
      if (request.method === 'GET' && url.pathname === '/api/request-logs')
        return jsonResponse(200, { request_logs: [], next_page_uri: null });
      if (request.method === 'POST' && url.pathname === '/api/endpoints/ep_1/shadow-policy/promote') {
        if (promoteAnswer === 409)
          return jsonResponse(409, { error_code: 'SHADOW_POLICY_CHANGED', message: 'replaced meanwhile', details: [] });
        stored = { ...endpoint, policy_version: 3, traffic_policy: draft, shadow_policy: null };
        return jsonResponse(201, {
          endpoint_id: 'ep_1',
          version: 3,
          uri: '/api/endpoints/ep_1/policy-versions/3',
          traffic_policy: draft,
          sha256: shadow.sha256,
          message: shadow.message,
          created_by: 'editor@example.com',
          restored_from: null,
          active: true,
          tests: [],
          test_result: null,
          created_at: '2026-11-24T10:05:00Z',
        });
      }
      return jsonResponse(404, { error_code: 'NOT_FOUND', message: `no stub for ${request.method} ${url.pathname}` });
    });
    vi.stubGlobal('fetch', api.fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPanel();

    expect(await screen.findByTestId('shadow-no-differences')).toBeTruthy();
    await user.click(screen.getByTestId('shadow-promote'));
    expect((await screen.findByTestId('shadow-promote-error')).textContent).toContain(
      'The shadow policy was replaced or discarded since this page loaded',
    );

    promoteAnswer = 201;
    await user.click(screen.getByTestId('shadow-promote'));
    await waitFor(() => expect(screen.getByTestId('shadow-empty')).toBeTruthy());
    const promotes = api.requests.filter((request) => request.url.endsWith('/shadow-policy/promote'));
    expect(promotes).toHaveLength(2);
    expect(await promotes[1]!.json()).toEqual({ sha256: shadow.sha256 });
  });
});

import { screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentSession } from '../api/agent-sessions.api';
import type { Endpoint } from '../api/endpoints.api';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import { AgentsPage } from './agents.page';
import { EndpointDetailPage } from './endpoint-detail.page';
import { EndpointSettingsPage } from './endpoint-settings.page';
import { EndpointsListPage } from './endpoints-list.page';

const online: AgentSession = {
  id: 'as_live',
  uri: '/api/agent-sessions/as_live',
  authtoken_id: 'atk_1',
  agent_version: '0.1.0',
  hostname: 'laptop-1',
  remote_address: '203.0.113.7',
  status: 'online',
  dataplanes: [{ id: 'dp-a', connected_at: '2026-12-06T05:00:00Z', last_seen_at: '2026-12-06T05:01:00Z' }],
  endpoints: [
    {
      id: 'ep_agent',
      url: 'https://mcp.team-a.internal',
      upstream: 'http://127.0.0.1:3333',
      upstream_protocol: 'http1',
      pooling_enabled: true,
    },
  ],
  started_at: '2026-12-06T05:00:00Z',
  last_seen_at: '2026-12-06T05:01:00Z',
  ended_at: null,
  end_reason: null,
};
// Newer than the live one: the API answers newest first, the page still shows live sessions first.
const ended: AgentSession = {
  ...online,
  id: 'as_old',
  uri: '/api/agent-sessions/as_old',
  hostname: 'old-vm',
  status: 'ended',
  dataplanes: [],
  endpoints: [],
  ended_at: '2026-12-06T05:02:00Z',
  end_reason: 'authtoken-revoked',
};

const agentEndpoint: Endpoint = {
  id: 'ep_agent',
  uri: '/api/endpoints/ep_agent',
  url: 'https://mcp.team-a.internal',
  type: 'agent',
  proto: 'https',
  host: 'mcp.team-a.internal',
  port: 443,
  description: 'laptop MCP server',
  metadata: '',
  upstream_url: null,
  upstream_host_header: 'preserve',
  request_log_capture: { headers: false, bodies: false },
  traffic_policy: null,
  policy_version: null,
  agent: {
    pooling_enabled: true,
    online_members: 1,
    members: [
      {
        session_id: 'as_live',
        agent_version: '0.1.0',
        hostname: 'laptop-1',
        remote_address: '203.0.113.7',
        online: true,
        dataplanes: [{ id: 'dp-a', connected_at: '2026-12-06T05:00:00Z' }],
        since: '2026-12-06T05:00:00Z',
        upstream: 'http://127.0.0.1:3333',
        upstream_protocol: 'http1',
      },
      {
        session_id: 'as_gone',
        agent_version: '0.1.0',
        hostname: 'laptop-2',
        remote_address: '203.0.113.8',
        online: false,
        dataplanes: [],
        since: '2026-12-06T05:00:30Z',
        upstream: 'http://127.0.0.1:3333',
        upstream_protocol: 'http1',
      },
    ],
  },
  created_at: '2026-12-06T05:00:00Z',
  updated_at: '2026-12-06T05:00:00Z',
};

/** Answers the routes these pages read; anything else is a 404 so a stray request shows up as an error, not data. */
function stubApi() {
  return stubFetch((request) => {
    const { pathname } = new URL(request.url);
    if (pathname === '/api/agent-sessions')
      return jsonResponse(200, { agent_sessions: [ended, online], next_page_uri: null });
    if (pathname === '/api/endpoints/ep_agent') return jsonResponse(200, agentEndpoint);
    if (pathname === '/api/endpoints') return jsonResponse(200, { endpoints: [agentEndpoint], next_page_uri: null });
    if (pathname === '/api/dataplanes') return jsonResponse(200, { dataplanes: [], next_page_uri: null });
    return jsonResponse(404, { error_code: 'ROUTE_NOT_FOUND', message: `no stub for ${pathname}`, details: [] });
  });
}

afterEach(() => vi.unstubAllGlobals());

describe('Agents page', () => {
  it('lists live sessions first, each with its endpoints, data planes and why ended ones ended', async () => {
    vi.stubGlobal('fetch', stubApi().fetchStub);
    renderRoutes([{ element: <SessionGate />, children: [{ path: '/agents', element: <AgentsPage /> }] }], '/agents');
    const table = await screen.findByTestId('agent-sessions-table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => within(row).getAllByRole('cell')[0]!.textContent)).toEqual([
      'laptop-1as_live',
      'old-vmas_old',
    ]);
    const live = rows[0]!;
    expect(within(live).getByText('online')).toBeTruthy();
    expect(within(live).getByRole('link', { name: 'https://mcp.team-a.internal' }).getAttribute('href')).toBe(
      '/endpoints/ep_agent',
    );
    expect(within(live).getByText('pooled')).toBeTruthy();
    expect(within(live).getByText('dp-a')).toBeTruthy();
    expect(within(rows[1]!).getByText(/authtoken revoked/)).toBeTruthy();
    expect(within(rows[1]!).getByText('none')).toBeTruthy();
  });
});

describe('Agent endpoints', () => {
  it('are listed with an agent badge and how many of their members are online', async () => {
    vi.stubGlobal('fetch', stubApi().fetchStub);
    renderRoutes(
      [{ element: <SessionGate />, children: [{ path: '/endpoints', element: <EndpointsListPage /> }] }],
      '/endpoints',
    );
    const table = await screen.findByTestId('endpoints-table');
    expect(within(table).getByText('agent')).toBeTruthy();
    expect(within(table).getByTestId('agent-online-members').textContent).toBe('1 of 2 agents online (pooled)');
  });

  it('show their sessions and offer no edit, delete or save, saying why', async () => {
    const { fetchStub, requests } = stubApi();
    vi.stubGlobal('fetch', fetchStub);
    renderRoutes(
      [
        {
          element: <SessionGate />,
          children: [
            {
              path: '/endpoints/:endpointId',
              element: <EndpointDetailPage />,
              children: [{ path: 'settings', element: <EndpointSettingsPage /> }],
            },
          ],
        },
      ],
      '/endpoints/ep_agent/settings',
    );
    const reason = await screen.findByTestId('agent-read-only');
    expect(reason.textContent).toContain("Declared by agent session as_live, as_gone; change the agent's config");
    expect(screen.getByText('1 of 2 members online')).toBeTruthy();
    const members = screen.getByTestId('agent-members');
    expect(within(members).getByText('laptop-1 (203.0.113.7), v0.1.0')).toBeTruthy();
    expect(within(members).getByText('offline')).toBeTruthy();
    expect(within(members).getAllByText('http://127.0.0.1:3333 (http1)')).toHaveLength(2);

    // The editor's settings form is read-only here: no save, no delete.
    expect(await screen.findByLabelText('Description')).toHaveProperty('readOnly', true);
    expect(screen.queryByRole('button', { name: 'Save settings' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Delete/ })).toBeNull();
    expect(requests.every((request) => request.method === 'GET')).toBe(true);
  });
});

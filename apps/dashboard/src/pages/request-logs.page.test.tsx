import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestLogSummary } from '../api/request-logs.api';
import { SessionGate } from '../session/session-gate';
import { FakeEventSource, jsonResponse, renderRoutes, stubFetch } from '../test-render';
import { RequestLogsPage } from './request-logs.page';

function requestLog(id: string, overrides: Partial<RequestLogSummary> = {}): RequestLogSummary {
  return {
    id,
    uri: `/api/request-logs/${id}`,
    seq: 1,
    timestamp: '2026-11-24T09:00:00.000Z',
    endpoint_id: 'ep_1',
    endpoint_url: 'https://mcp.example.com',
    policy_version: 2,
    method: 'POST',
    host: 'mcp.example.com',
    path: `/mcp/${id}`,
    query: '',
    status: 401,
    duration_ms: 1,
    upstream_duration_ms: null,
    bytes_in: 0,
    bytes_out: 0,
    client_ip: '160.79.104.10',
    client_ip_categories: [],
    user_agent: null,
    forwarded_to: null,
    decision: { phase: 'on_http_request', rule_index: 1, rule_name: 'require-token', action: 'deny' },
    rules_matched: [],
    error_code: null,
    logs: [],
    mcp: { method: 'tools/call', tool: 'search', protocol_version: '2025-06-18' },
    caller: null,
    trace_id: null,
    ai_gateway: null,
    ...overrides,
  };
}

/**
 * The API as the page sees it: `stored` is what GET /api/request-logs answers right now; while `stored.hold` is set,
 * list answers wait for it (a slow network), so a test can look at the page between asking and answering.
 */
function serveRequestLogs(stored: { rows: RequestLogSummary[]; hold?: Promise<void> }) {
  return stubFetch(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === '/api/endpoints') return jsonResponse(200, { endpoints: [], next_page_uri: null });
    if (url.pathname === '/api/request-logs') {
      await stored.hold;
      return jsonResponse(200, { request_logs: stored.rows, next_page_uri: null });
    }
    return jsonResponse(404, { error_code: 'ROUTE_NOT_FOUND', message: url.pathname, details: [], request_id: 'r' });
  });
}

function renderPage(path = '/request-logs') {
  return renderRoutes(
    [{ element: <SessionGate />, children: [{ path: '/request-logs', element: <RequestLogsPage /> }] }],
    path,
  );
}

afterEach(() => {
  FakeEventSource.opened = [];
  vi.unstubAllGlobals();
});

describe('Request log page', () => {
  it('keeps the tailed requests on screen when live tail goes off, and shows the list fetched again (issue 19)', async () => {
    const stored: { rows: RequestLogSummary[]; hold?: Promise<void> } = { rows: [] };
    const { fetchStub, requests } = serveRequestLogs(stored);
    vi.stubGlobal('fetch', fetchStub);
    vi.stubGlobal('EventSource', FakeEventSource);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await screen.findByText('No requests yet');

    await user.click(screen.getByRole('switch', { name: /Live tail/ }));
    await screen.findByText('Waiting for requests');
    expect(screen.queryByText(/Turn on live tail/)).toBeNull();
    const arrived = [requestLog('req_1'), requestLog('req_2'), requestLog('req_3')];
    act(() => {
      for (const row of arrived) FakeEventSource.opened[0]!.emit(row);
    });
    await screen.findByText('/mcp/req_3', { exact: false });
    stored.rows = [...arrived].reverse();
    let answer = () => undefined as void;
    stored.hold = new Promise<void>((resolve) => (answer = resolve));
    const listFetchesBefore = requests.filter(
      (request) => new URL(request.url).pathname === '/api/request-logs',
    ).length;

    await user.click(screen.getByRole('switch', { name: /Live tail/ }));
    // While the list is being fetched again, the three rows stay and "No requests yet" never shows.
    await waitFor(() =>
      expect(requests.filter((request) => new URL(request.url).pathname === '/api/request-logs').length).toBe(
        listFetchesBefore + 1,
      ),
    );
    expect(screen.queryByText('No requests yet')).toBeNull();
    expect(screen.getAllByText(/\/mcp\/req_\d/)).toHaveLength(3);
    answer();
    await waitFor(() => expect(screen.getAllByText(/\/mcp\/req_\d/)).toHaveLength(3));
    expect(screen.queryByText('No requests yet')).toBeNull();
  });

  it('refreshes the list on request', async () => {
    const stored = { rows: [] as RequestLogSummary[] };
    const { fetchStub } = serveRequestLogs(stored);
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await screen.findByText('No requests yet');
    stored.rows = [requestLog('req_7')];
    await user.click(screen.getByRole('button', { name: 'Refresh' }));
    await screen.findByText('/mcp/req_7', { exact: false });
  });

  it('shows the deciding rule, the MCP method and a rate limit in each row', async () => {
    const { fetchStub } = serveRequestLogs({
      rows: [
        requestLog('req_1'),
        requestLog('req_2', {
          status: 429,
          error_code: 'RATE_LIMITED',
          decision: { phase: 'on_http_request', rule_index: 2, rule_name: null, action: 'rate-limit' },
        }),
      ],
    });
    vi.stubGlobal('fetch', fetchStub);
    renderPage();
    await screen.findByText('deny · require-token (rule 2)');
    expect(screen.getByText('rate-limit · rule 3 of on_http_request')).toBeTruthy();
    expect(screen.getAllByText('tools/call · search')).toHaveLength(2);
    expect(screen.getByText('429 rate limited')).toBeTruthy();
  });

  it('says what a client filter may be instead of silently matching nothing, and clears every filter', async () => {
    const { fetchStub, requests } = serveRequestLogs({ rows: [requestLog('req_1')] });
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    const { router } = renderPage('/request-logs?client_ip=office&status=4x&method=POST');
    await screen.findByText(/An address \(160\.79\.104\.10\), a CIDR \(160\.79\.104\.0\/21\) or leading octets/);
    expect(screen.getByText('A status (429) or a class (4xx)')).toBeTruthy();
    const listQueries = requests
      .map((request) => new URL(request.url))
      .filter((url) => url.pathname === '/api/request-logs');
    // The refused values never reach the API; the valid one does.
    expect(listQueries.every((url) => !url.searchParams.has('client_ip') && !url.searchParams.has('status'))).toBe(
      true,
    );
    expect(listQueries.some((url) => url.searchParams.get('method') === 'POST')).toBe(true);

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(router.state.location.search).toBe(''));
    expect(screen.queryByRole('button', { name: 'Clear filters' })).toBeNull();
  });

  it('sends a CIDR or leading octets to the API as the client filter', async () => {
    const { fetchStub, requests } = serveRequestLogs({ rows: [] });
    vi.stubGlobal('fetch', fetchStub);
    renderPage('/request-logs?client_ip=160.79.104.0%2F21');
    await screen.findByText('No request matches');
    await waitFor(() =>
      expect(requests.some((request) => new URL(request.url).searchParams.get('client_ip') === '160.79.104.0/21')).toBe(
        true,
      ),
    );
  });
});

import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EndpointDetailPage } from '../pages/endpoint-detail.page';
import { EndpointSettingsPage } from '../pages/endpoint-settings.page';
import { EndpointVersionsPage } from '../pages/endpoint-versions.page';
import { EndpointsListPage } from '../pages/endpoints-list.page';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import type { Endpoint } from './endpoints.api';
import type { PolicyVersion } from './policy-versions.api';

// Monaco does not run in jsdom; the comparison is not what these tests look at.
vi.mock('../policy-editor/policy-diff-viewer', () => ({ PolicyDiffViewer: () => <p>comparison</p> }));

const routes = [
  {
    element: <SessionGate />,
    children: [
      { path: '/endpoints', element: <EndpointsListPage /> },
      {
        path: '/endpoints/:endpointId',
        element: <EndpointDetailPage />,
        children: [
          { path: 'versions', element: <EndpointVersionsPage /> },
          { path: 'settings', element: <EndpointSettingsPage /> },
        ],
      },
    ],
  },
];

const cloudEndpoint: Endpoint = {
  id: 'ep_cloud',
  uri: '/api/endpoints/ep_cloud',
  url: 'https://mcp.example.com',
  type: 'cloud',
  proto: 'https',
  host: 'mcp.example.com',
  port: 443,
  description: '',
  metadata: '',
  upstream_url: null,
  upstream_host_header: 'preserve',
  request_log_capture: { headers: false, bodies: false },
  traffic_policy: 'version 2 text',
  policy_version: 2,
  agent: null,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:05:00Z',
};
const internalEndpoint: Endpoint = {
  ...cloudEndpoint,
  id: 'ep_internal',
  uri: '/api/endpoints/ep_internal',
  url: 'https://mcp.example.internal',
  type: 'internal',
  host: 'mcp.example.internal',
  upstream_url: 'http://127.0.0.1:3333',
  traffic_policy: null,
  policy_version: null,
  agent: null,
};

function policyVersion(version: number, active: boolean, restoredFrom: number | null = null): PolicyVersion {
  return {
    endpoint_id: cloudEndpoint.id,
    version,
    uri: `/api/endpoints/ep_cloud/policy-versions/${version}`,
    traffic_policy: `version ${restoredFrom ?? version} text`,
    sha256: '0'.repeat(64),
    tests: [],
    test_result: null,
    message: '',
    created_by: 'editor@example.com',
    restored_from: restoredFrom,
    active,
    created_at: '2026-11-24T09:00:00Z',
  };
}

/**
 * The API as these tests need it, with one twist: the endpoint list answers its first request and never the later
 * ones, as when a refetch has not landed yet (a slow network, a busy machine). What the list shows after a change
 * then comes from the cache alone.
 */
function stubApi({ afterRestore }: { afterRestore: () => boolean }) {
  const never = new Promise<Response>(() => undefined);
  let listRequests = 0;
  const stub = stubFetch((request) => {
    const { pathname } = new URL(request.url);
    if (request.method === 'GET' && pathname === '/api/endpoints') {
      listRequests += 1;
      if (listRequests > 1) return never;
      return jsonResponse(200, { endpoints: [cloudEndpoint, internalEndpoint], next_page_uri: null });
    }
    if (request.method === 'GET' && pathname === '/api/endpoints/ep_cloud') {
      return jsonResponse(
        200,
        afterRestore() ? { ...cloudEndpoint, policy_version: 3, traffic_policy: 'version 1 text' } : cloudEndpoint,
      );
    }
    if (request.method === 'GET' && pathname === '/api/endpoints/ep_cloud/policy-versions') {
      const versions = afterRestore()
        ? [policyVersion(3, true, 1), policyVersion(2, false), policyVersion(1, false)]
        : [policyVersion(2, true), policyVersion(1, false)];
      return jsonResponse(200, { versions, next_page_uri: null });
    }
    const versionPath = /^\/api\/endpoints\/ep_cloud\/policy-versions\/(\d)$/.exec(pathname);
    if (request.method === 'GET' && versionPath) return jsonResponse(200, policyVersion(Number(versionPath[1]), false));
    if (request.method === 'POST' && pathname === '/api/endpoints/ep_cloud/policy-versions/1/restore') {
      return jsonResponse(201, policyVersion(3, true, 1));
    }
    if (request.method === 'DELETE' && pathname === '/api/endpoints/ep_cloud')
      return new Response(null, { status: 204 });
    return jsonResponse(404, { error_code: 'NOT_FOUND', message: `no stub for ${request.method} ${pathname}` });
  });
  return { ...stub, listRequestCount: () => listRequests };
}

function endpointRow(url: string): HTMLElement {
  const row = within(screen.getByTestId('endpoints-table')).getByText(url).closest('tr');
  if (!row) throw new Error(`no row for ${url}`);
  return row;
}

afterEach(() => vi.unstubAllGlobals());

describe('the endpoint list after a change elsewhere in the dashboard', () => {
  it('shows the version a restore made active at once, while its own refetch is still under way', async () => {
    let restored = false;
    const api = stubApi({ afterRestore: () => restored });
    vi.stubGlobal('fetch', api.fetchStub);
    const user = userEvent.setup({ delay: null });
    const { router } = renderRoutes(routes, '/endpoints');
    await screen.findByTestId('endpoints-table');
    expect(within(endpointRow(cloudEndpoint.url)).getByText('v2')).toBeTruthy();

    await router.navigate('/endpoints/ep_cloud/versions');
    await user.click(await screen.findByRole('button', { name: 'Restore version 1' }));
    restored = true;
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Restore' }));
    await screen.findByText('restored from v1');

    await user.click(screen.getByRole('link', { name: 'Endpoints' }));
    await screen.findByTestId('endpoints-table');
    // The list was invalidated (it asks again), and meanwhile shows what the restore's answer said.
    await waitFor(() => expect(api.listRequestCount()).toBe(2));
    expect(within(endpointRow(cloudEndpoint.url)).getByText('v3')).toBeTruthy();
    expect(within(endpointRow(cloudEndpoint.url)).queryByText('v2')).toBeNull();
  });

  it('leaves out a deleted endpoint at once, while its own refetch is still under way', async () => {
    const api = stubApi({ afterRestore: () => false });
    vi.stubGlobal('fetch', api.fetchStub);
    const user = userEvent.setup({ delay: null });
    const { router } = renderRoutes(routes, '/endpoints');
    await screen.findByTestId('endpoints-table');
    expect(endpointRow(cloudEndpoint.url)).toBeTruthy();

    await router.navigate('/endpoints/ep_cloud/settings');
    await user.click(await screen.findByRole('button', { name: 'Delete endpoint' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Delete endpoint' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/endpoints'));
    await screen.findByTestId('endpoints-table');
    await waitFor(() => expect(api.listRequestCount()).toBe(2));
    expect(endpointRow(internalEndpoint.url)).toBeTruthy();
    expect(within(screen.getByTestId('endpoints-table')).queryByText(cloudEndpoint.url)).toBeNull();
  });
});

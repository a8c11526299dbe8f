import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dataplane } from '../api/dataplanes.api';
import type { Endpoint } from '../api/endpoints.api';
import { jsonResponse, renderWithProviders, stubFetch } from '../test-render';
import { TrafficAddress } from './traffic-address';

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
  traffic_policy: 'on_http_request: []',
  policy_version: 1,
  agent: null,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:00:00Z',
};

function dataplane(id: string, overrides: Partial<Dataplane>): Dataplane {
  return {
    id,
    hostname: `${id}-host`,
    version: '0.1.0',
    applied_revision: 1,
    lag: 0,
    last_error: null,
    traffic: null,
    request_events: null,
    status: 'online',
    last_heartbeat_at: '2026-11-24T09:00:00Z',
    created_at: '2026-11-24T09:00:00Z',
    ...overrides,
  };
}

function renderWith(dataplanes: Dataplane[]) {
  const { fetchStub } = stubFetch((request) =>
    new URL(request.url).pathname === '/api/dataplanes'
      ? jsonResponse(200, { dataplanes, next_page_uri: null })
      : jsonResponse(404, { error_code: 'NOT_FOUND', message: 'not here', details: [] }),
  );
  vi.stubGlobal('fetch', fetchStub);
  return renderWithProviders(<TrafficAddress endpoint={cloudEndpoint} />);
}

const traffic = (url: string, publicUrl: string | null = null): Dataplane['traffic'] => ({
  scheme: 'http',
  host: '0.0.0.0',
  port: 8080,
  public_url: publicUrl,
  url,
});

afterEach(() => vi.unstubAllGlobals());

describe('TrafficAddress', () => {
  it('lists the addresses online data planes reported, once each, with a curl example for the first', async () => {
    renderWith([
      // Two workers of one data plane report the same address; a stale data plane's address is left out.
      dataplane('dp-1/worker-0', { traffic: traffic('http://edge-1:8080') }),
      dataplane('dp-1/worker-1', { traffic: traffic('http://edge-1:8080') }),
      dataplane('dp-2', { traffic: traffic('https://gw.example.com/', 'https://gw.example.com/') }),
      dataplane('dp-old', { traffic: traffic('http://old:8080'), status: 'stale' }),
    ]);
    await screen.findByText('http://edge-1:8080');
    expect(screen.getAllByTestId('traffic-address-url').map((node) => node.textContent)).toEqual([
      'http://edge-1:8080',
      'https://gw.example.com/',
    ]);
    expect(screen.getByText("curl -H 'Host: mcp.example.com' http://edge-1:8080/")).toBeTruthy();
    expect(screen.queryByText(/DATAPLANE_PORT/)).toBeNull();
  });

  it('falls back to the default port only when no online data plane reported an address', async () => {
    renderWith([dataplane('dp-1', {}), dataplane('dp-old', { traffic: traffic('http://old:8080'), status: 'stale' })]);
    await screen.findByText(/Online data planes: dp-1-host \(they did not report their address\)/);
    expect(screen.getByText(/DATAPLANE_PORT/)).toBeTruthy();
    expect(screen.getByText("curl -H 'Host: mcp.example.com' http://dp-1-host:8080/")).toBeTruthy();
    expect(screen.queryByTestId('traffic-address-url')).toBeNull();
  });
});

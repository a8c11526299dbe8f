import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Outlet } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Endpoint } from '../api/endpoints.api';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import type { EndpointOutletContext } from './endpoint-detail.page';
import { EndpointSettingsPage } from './endpoint-settings.page';

const cloudEndpoint: Endpoint = {
  id: 'ep_cloud',
  uri: '/api/endpoints/ep_cloud',
  url: 'https://mcp.example.com',
  type: 'cloud',
  proto: 'https',
  host: 'mcp.example.com',
  port: 443,
  description: 'MCP gateway',
  metadata: '',
  upstream_url: null,
  upstream_host_header: 'preserve',
  request_log_capture: { headers: false, bodies: false },
  traffic_policy: 'on_http_request: []',
  policy_version: 3,
  agent: null,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:00:00Z',
};

function renderSettings(endpoint: Endpoint) {
  return renderRoutes(
    [
      {
        element: <SessionGate />,
        children: [
          {
            path: '/endpoints/:endpointId',
            element: <Outlet context={{ endpoint } satisfies EndpointOutletContext} />,
            children: [{ path: 'settings', element: <EndpointSettingsPage /> }],
          },
        ],
      },
    ],
    `/endpoints/${endpoint.id}/settings`,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('Endpoint settings: request log capture', () => {
  it('says secrets are always redacted and saves only the capture option that was turned on', async () => {
    const saved = { ...cloudEndpoint, request_log_capture: { headers: true, bodies: false } };
    const { fetchStub, requests } = stubFetch(() => jsonResponse(200, saved));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderSettings(cloudEndpoint);

    expect(
      screen.getByText(/Authorization, Proxy-Authorization, Cookie and Set-Cookie are always removed/),
    ).toBeTruthy();
    const headers = screen.getByRole('switch', { name: 'Store request and response headers' });
    const bodies = screen.getByRole('switch', { name: /Store request and response bodies/ });
    expect((headers as HTMLInputElement).checked).toBe(false);
    expect((bodies as HTMLInputElement).checked).toBe(false);
    const save = screen.getByRole('button', { name: 'Save settings' });
    expect((save as HTMLButtonElement).disabled).toBe(true);

    await user.click(headers);
    expect((save as HTMLButtonElement).disabled).toBe(false);
    await user.click(save);
    await waitFor(() => expect(requests).toHaveLength(1));
    const [patch] = requests;
    expect(patch!.method).toBe('PATCH');
    expect(new URL(patch!.url).pathname).toBe('/api/endpoints/ep_cloud');
    expect(await patch!.json()).toEqual({
      description: 'MCP gateway',
      policy_message: '',
      request_log_capture: { headers: true, bodies: false },
    });
  });

  it('does not send the capture setting when only the description changed', async () => {
    const { fetchStub, requests } = stubFetch(() => jsonResponse(200, cloudEndpoint));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderSettings({ ...cloudEndpoint, request_log_capture: { headers: true, bodies: true } });
    expect((await screen.findByRole<HTMLInputElement>('switch', { name: /bodies/ })).checked).toBe(true);
    await user.type(screen.getByRole('textbox', { name: 'Description' }), '!');
    await user.click(screen.getByRole('button', { name: 'Save settings' }));
    await waitFor(() => expect(requests).toHaveLength(1));
    expect(await requests[0]!.json()).not.toHaveProperty('request_log_capture');
  });

  it('offers no capture toggles on internal endpoints', async () => {
    renderSettings({
      ...cloudEndpoint,
      id: 'ep_internal',
      url: 'https://mcp.example.internal',
      type: 'internal',
      upstream_url: 'http://127.0.0.1:3333',
      traffic_policy: null,
      policy_version: null,
    });
    expect(await screen.findByRole('textbox', { name: 'Upstream URL' })).toBeTruthy();
    expect(screen.queryByRole('switch')).toBeNull();
  });
});

import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import { NewEndpointPage } from './new-endpoint.page';

const routes = [
  { path: '/endpoints/new', element: <NewEndpointPage /> },
  { path: '/endpoints/:endpointId/policy', element: <p>policy editor</p> },
  { path: '/endpoints', element: <p>endpoint list</p> },
];

const createdEndpoint = {
  id: 'ep_new',
  uri: '/api/endpoints/ep_new',
  url: 'https://mcp.example.internal',
  type: 'internal',
  proto: 'https',
  host: 'mcp.example.internal',
  port: 443,
  description: '',
  metadata: '',
  upstream_url: 'http://127.0.0.1:3333',
  upstream_host_header: 'preserve',
  traffic_policy: null,
  policy_version: null,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:00:00Z',
};

afterEach(() => vi.unstubAllGlobals());

describe('New endpoint', () => {
  it('checks the URL rules as the user types and sends nothing while they fail', async () => {
    const { fetchStub, requests } = stubFetch(() => jsonResponse(500, {}));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderRoutes(routes, '/endpoints/new');
    // Nothing is wrong before the user has done anything.
    expect(screen.queryByText(/Enter the URL/)).toBeNull();

    await user.click(screen.getByRole('radio', { name: /Internal/ }));
    await user.click(screen.getByRole('textbox', { name: /^URL/ }));
    await user.paste('https://mcp.example.com');
    await user.tab();
    expect(await screen.findByText('Internal endpoint hosts must end in .internal')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Create endpoint' }));
    expect(await screen.findByText(/Internal endpoints forward to an upstream/)).toBeTruthy();
    expect(requests).toHaveLength(0);
  });

  it('creates an internal endpoint with its upstream and opens its policy', async () => {
    const { fetchStub, requests } = stubFetch(() => jsonResponse(201, createdEndpoint));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    const { router } = renderRoutes(routes, '/endpoints/new');

    await user.click(screen.getByRole('radio', { name: /Internal/ }));
    await user.click(screen.getByRole('textbox', { name: /^URL/ }));
    await user.paste('https://mcp.example.internal');
    await user.click(screen.getByRole('textbox', { name: /^Upstream URL/ }));
    await user.paste('http://127.0.0.1:3333');
    await user.click(screen.getByRole('button', { name: 'Create endpoint' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/endpoints/ep_new/policy'));
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(new URL(request!.url).pathname).toBe('/api/endpoints');
    expect(request?.credentials).toBe('include');
    expect(await request!.json()).toMatchObject({
      type: 'internal',
      url: 'https://mcp.example.internal',
      upstream_url: 'http://127.0.0.1:3333',
      upstream_host_header: 'preserve',
    });
  });

  it('gives a cloud endpoint the starting policy and shows the API refusal on the URL field', async () => {
    const { fetchStub, requests } = stubFetch(() =>
      jsonResponse(409, {
        error_code: 'ENDPOINT_URL_TAKEN',
        message: 'An endpoint with URL https://mcp.example.com already exists',
        details: [],
      }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderRoutes(routes, '/endpoints/new');

    await user.click(screen.getByRole('textbox', { name: /^URL/ }));
    await user.paste('https://mcp.example.com');
    await user.click(screen.getByRole('button', { name: 'Create endpoint' }));

    expect(await screen.findByText('An endpoint with URL https://mcp.example.com already exists')).toBeTruthy();
    const body = (await requests[0]!.json()) as { type: string; traffic_policy: string };
    expect(body.type).toBe('cloud');
    expect(body.traffic_policy).toContain('custom-response');
    expect(body.traffic_policy).toContain('This is your new Gatehouse endpoint');
  });

  it('does not flag a field the user only passed through', async () => {
    const { fetchStub } = stubFetch(() => jsonResponse(500, {}));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderRoutes(routes, '/endpoints/new');
    // The URL field has the focus; choosing the type and tabbing on leaves it empty but is no mistake yet.
    await user.click(screen.getByRole('radio', { name: /Internal/ }));
    await user.tab();
    expect(screen.queryByText(/Enter the/)).toBeNull();
    // On submit, the example given is the internal one.
    await user.click(screen.getByRole('button', { name: 'Create endpoint' }));
    expect(await screen.findByText(/Enter the private URL.*mcp\.example\.internal/)).toBeTruthy();
  });

  it('creates a cloud endpoint with the policy written in the form', async () => {
    const { fetchStub, requests } = stubFetch(() => jsonResponse(201, { ...createdEndpoint, type: 'cloud' }));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderRoutes(routes, '/endpoints/new');
    await user.click(screen.getByRole('textbox', { name: /^URL/ }));
    await user.paste('https://api.example.com');
    await user.click(screen.getByRole('radio', { name: 'Write or paste one' }));
    const policy = screen.getByRole('textbox', { name: /Policy \(YAML or JSON\)/ });
    await user.clear(policy);
    await user.click(policy);
    await user.paste('on_http_request:\n  - actions:\n      - type: deny\n');
    await user.click(screen.getByRole('button', { name: 'Create endpoint' }));
    expect(await screen.findByText('policy editor')).toBeTruthy();
    const body = (await requests[0]!.json()) as { traffic_policy: string };
    expect(body.traffic_policy).toBe('on_http_request:\n  - actions:\n      - type: deny\n');
  });
});

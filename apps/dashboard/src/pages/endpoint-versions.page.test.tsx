import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Endpoint } from '../api/endpoints.api';
import type { PolicyVersion } from '../api/policy-versions.api';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import { EndpointDetailPage } from './endpoint-detail.page';
import { EndpointVersionsPage } from './endpoint-versions.page';

// Monaco does not run in jsdom; the comparison is not what this test looks at.
vi.mock('../policy-editor/policy-diff-viewer', () => ({ PolicyDiffViewer: () => <p>comparison</p> }));

const guarded = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{ type: deny }]
  - actions: [{ type: custom-response, config: { status_code: 200, body: hello } }]
`;
const open = `on_http_request:
  - actions: [{ type: custom-response, config: { status_code: 200, body: hello } }]
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
  traffic_policy: guarded,
  policy_version: 2,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:05:00Z',
};

function version(number: 1 | 2): PolicyVersion {
  return {
    endpoint_id: 'ep_1',
    version: number,
    uri: `/api/endpoints/ep_1/policy-versions/${number}`,
    traffic_policy: number === 2 ? guarded : open,
    sha256: '0'.repeat(64),
    message: '',
    created_by: 'editor@example.com',
    restored_from: null,
    active: number === 2,
    tests:
      number === 2
        ? [
            { name: 'admin is blocked', request: { path: '/admin' }, expect: { status: 403 } },
            { name: 'home says hello', request: { path: '/' }, expect: { body_contains: 'hello' } },
          ]
        : [],
    test_result: null,
    created_at: '2026-11-24T09:00:00Z',
  };
}

afterEach(() => vi.unstubAllGlobals());

describe('restoring a version (issue 17 item 5)', () => {
  it("previews the active version's tests against it and restores with allow_failing_tests only when confirmed", async () => {
    const api = stubFetch((request) => {
      const { pathname } = new URL(request.url);
      if (request.method === 'GET' && pathname === '/api/endpoints/ep_1') return jsonResponse(200, endpoint);
      if (request.method === 'GET' && pathname === '/api/endpoints/ep_1/policy-versions')
        return jsonResponse(200, { versions: [version(2), version(1)], next_page_uri: null });
      const one = /^\/api\/endpoints\/ep_1\/policy-versions\/([12])$/.exec(pathname);
      if (request.method === 'GET' && one) return jsonResponse(200, version(Number(one[1]) as 1 | 2));
      if (request.method === 'POST' && pathname === '/api/endpoints/ep_1/policy-versions/1/restore')
        return jsonResponse(201, { ...version(1), version: 3, active: true, restored_from: 1 });
      return jsonResponse(404, { error_code: 'NOT_FOUND', message: `no stub for ${request.method} ${pathname}` });
    });
    vi.stubGlobal('fetch', api.fetchStub);
    const user = userEvent.setup({ delay: null });
    renderRoutes(
      [
        {
          element: <SessionGate />,
          children: [
            {
              path: '/endpoints/:endpointId',
              element: <EndpointDetailPage />,
              children: [{ path: 'versions', element: <EndpointVersionsPage /> }],
            },
          ],
        },
      ],
      '/endpoints/ep_1/versions',
    );
    await user.click(await screen.findByRole('button', { name: 'Restore version 1' }));
    const dialog = await screen.findByRole('dialog');
    const result = await within(dialog).findByTestId('restore-tests', undefined, { timeout: 5000 });
    expect(result.textContent).toContain("The active version's tests against version 1: 1 passed, 1 failed");
    expect(result.textContent).toContain('FAIL admin is blocked: status expected 403, got 200');

    await user.click(within(dialog).getByRole('button', { name: 'Restore with failing tests' }));
    await waitFor(() => expect(api.requests.some((request) => request.method === 'POST')).toBe(true));
    const restore = api.requests.find((request) => request.method === 'POST')!;
    expect(await restore.json()).toEqual({ message: 'Restore version 1', allow_failing_tests: true });
  });

  it('replays the version on recent traffic in the preview, each group linking its example requests', async () => {
    const report = {
      endpoint_id: 'ep_1',
      draft: { version: 1, sha256: '1'.repeat(64) },
      baseline: { kind: 'active', version: 2 },
      requests: 120,
      changed: 37,
      unchanged: 83,
      from: '2026-12-06T08:00:00.000Z',
      to: '2026-12-06T08:10:00.000Z',
      duration_ms: 412,
      groups: [
        {
          kind: 'flip',
          summary: '37 requests flip deny 403 → allow (rule 0 "block admin", deny)',
          count: 37,
          from: {
            kind: 'responded',
            status: 403,
            forwarded_to: null,
            rule_index: 0,
            rule_name: 'block admin',
            phase: 'on_http_request',
            action: 'deny',
          },
          to: {
            kind: 'forwarded',
            status: null,
            forwarded_to: 'upstream',
            rule_index: null,
            rule_name: null,
            phase: null,
            action: null,
          },
          rate_limit_key: null,
          example_request_ids: ['0f3c8a1e-aaaa-4bbb-8ccc-000000000001'],
        },
      ],
      notes: ['Bodies are not recorded.'],
    };
    const api = stubFetch((request) => {
      const { pathname } = new URL(request.url);
      if (request.method === 'GET' && pathname === '/api/endpoints/ep_1') return jsonResponse(200, endpoint);
      if (request.method === 'GET' && pathname === '/api/endpoints/ep_1/policy-versions')
        return jsonResponse(200, { versions: [version(2), version(1)], next_page_uri: null });
      const one = /^\/api\/endpoints\/ep_1\/policy-versions\/([12])$/.exec(pathname);
      if (request.method === 'GET' && one) return jsonResponse(200, version(Number(one[1]) as 1 | 2));
      if (request.method === 'POST' && pathname === '/api/endpoints/ep_1/replay') return jsonResponse(200, report);
      return jsonResponse(404, { error_code: 'NOT_FOUND', message: `no stub for ${request.method} ${pathname}` });
    });
    vi.stubGlobal('fetch', api.fetchStub);
    const user = userEvent.setup({ delay: null });
    renderRoutes(
      [
        {
          element: <SessionGate />,
          children: [
            {
              path: '/endpoints/:endpointId',
              element: <EndpointDetailPage />,
              children: [{ path: 'versions', element: <EndpointVersionsPage /> }],
            },
          ],
        },
      ],
      '/endpoints/ep_1/versions',
    );
    await user.click(await screen.findByRole('button', { name: 'Restore version 1' }));
    const dialog = await screen.findByRole('dialog');
    await user.click(await within(dialog).findByRole('button', { name: 'Replay version 1' }));
    const groups = await within(dialog).findByTestId('replay-groups');
    expect(groups.textContent).toContain('37 requests flip deny 403 → allow (rule 0 "block admin", deny)');
    expect(within(groups).getByRole('link', { name: '0f3c8a1e' }).getAttribute('href')).toBe(
      '/request-logs?request=0f3c8a1e-aaaa-4bbb-8ccc-000000000001',
    );
    const replay = api.requests.find((request) => request.method === 'POST')!;
    expect(await replay.json()).toEqual({ version: 1, baseline: 'active' });
  });
});

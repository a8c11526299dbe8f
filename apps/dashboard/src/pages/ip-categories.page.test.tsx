import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IpCategory } from '../api/ip-categories.api';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, stubFetch } from '../test-render';
import { IpCategoriesPage } from './ip-categories.page';

const office: IpCategory = {
  name: 'com.example.office',
  uri: '/api/ip-categories/com.example.office',
  cidrs: ['203.0.113.0/24'],
  description: 'HQ',
  builtin: false,
  created_at: '2026-11-24T09:00:00Z',
  updated_at: '2026-11-24T09:00:00Z',
};

function renderPage() {
  return renderRoutes(
    [{ element: <SessionGate />, children: [{ path: '/ip-categories', element: <IpCategoriesPage /> }] }],
    '/ip-categories',
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('IP categories: New IP category', () => {
  it('creates with POST and shows a taken name on the name field instead of replacing the category (issue 19)', async () => {
    const { fetchStub, requests } = stubFetch((request) =>
      request.method === 'GET'
        ? jsonResponse(200, { ip_categories: [office], next_page_uri: null })
        : jsonResponse(409, {
            error_code: 'IP_CATEGORY_EXISTS',
            message: 'An IP category named com.example.office already exists; edit it, or choose another name',
            details: [],
            request_id: 'req_1',
          }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await user.click((await screen.findAllByRole('button', { name: 'New IP category' }))[0]!);
    await user.type(screen.getByRole('textbox', { name: 'Name' }), 'com.example.office');
    await user.type(screen.getByRole('textbox', { name: 'Addresses' }), '198.51.100.0/24');
    await user.click(screen.getByRole('button', { name: 'Save category' }));

    await screen.findByText(/com\.example\.office already exists; edit it, or choose another name/);
    const writes = requests.filter((request) => request.method !== 'GET');
    expect(writes.map((request) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
      'POST /api/ip-categories',
    ]);
    expect(await writes[0]!.json()).toEqual({
      name: 'com.example.office',
      description: '',
      cidrs: ['198.51.100.0/24'],
    });
    expect(screen.getByRole('textbox', { name: 'Name' }).getAttribute('aria-invalid')).toBe('true');
  });

  it('names bad addresses by their 1-based line before asking the API', async () => {
    const { fetchStub, requests } = stubFetch(() => jsonResponse(200, { ip_categories: [], next_page_uri: null }));
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await user.click((await screen.findAllByRole('button', { name: 'New IP category' }))[0]!);
    await user.type(screen.getByRole('textbox', { name: 'Name' }), 'com.example.lab');
    await user.type(screen.getByRole('textbox', { name: 'Addresses' }), '10.0.0.0/8{Enter}{Enter}10.0.0.0/33');
    await user.click(screen.getByRole('button', { name: 'Save category' }));
    await screen.findByText(/Line 3: "10\.0\.0\.0\/33" is not an IPv4 or IPv6 address or CIDR/);
    expect(requests.filter((request) => request.method !== 'GET')).toHaveLength(0);
  });

  it('turns the API’s 0-based cidrs.N paths into line numbers', async () => {
    const { fetchStub } = stubFetch((request) =>
      request.method === 'GET'
        ? jsonResponse(200, { ip_categories: [office], next_page_uri: null })
        : jsonResponse(400, {
            error_code: 'VALIDATION_FAILED',
            message: 'The request is invalid',
            details: [{ path: 'cidrs.1', message: 'must be an IPv4 or IPv6 CIDR or address' }],
            request_id: 'req_2',
          }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Edit com.example.office' }));
    const addresses = screen.getByRole('textbox', { name: 'Addresses' });
    await user.clear(addresses);
    // Valid for the dashboard's parser; the API (say, a newer rule) refuses the second entry.
    await user.type(addresses, '203.0.113.0/24{Enter}198.51.100.7');
    await user.click(screen.getByRole('button', { name: 'Save category' }));
    await waitFor(() =>
      expect(screen.getByText(/Line 2: "198\.51\.100\.7" must be an IPv4 or IPv6 CIDR or address/)).toBeTruthy(),
    );
    expect(screen.queryByText(/cidrs\.1/)).toBeNull();
  });
});

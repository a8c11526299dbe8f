import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dataplane } from '../api/dataplanes.api';
import { jsonResponse, renderWithProviders, stubFetch } from '../test-render';
import { DataplanesPage } from './dataplanes.page';

const row = (id: string, traffic: Dataplane['traffic']): Dataplane => ({
  id,
  hostname: 'edge-1',
  version: '0.1.0',
  applied_revision: 1,
  lag: 0,
  last_error: null,
  traffic,
  status: 'online',
  last_heartbeat_at: new Date().toISOString(),
  created_at: '2026-11-24T09:00:00Z',
});

afterEach(() => vi.unstubAllGlobals());

describe('Data planes page', () => {
  it('shows the traffic address each data plane reported, and says when one did not', async () => {
    const { fetchStub } = stubFetch(() =>
      jsonResponse(200, {
        dataplanes: [
          row('dp-new', { scheme: 'https', host: '0.0.0.0', port: 8443, public_url: null, url: 'https://edge-1:8443' }),
          row('dp-old', null),
        ],
        next_page_uri: null,
      }),
    );
    vi.stubGlobal('fetch', fetchStub);
    renderWithProviders(<DataplanesPage />);
    expect((await screen.findByTestId('dataplane-traffic-url')).textContent).toBe('https://edge-1:8443');
    expect(screen.getByText('not reported')).toBeTruthy();
  });
});

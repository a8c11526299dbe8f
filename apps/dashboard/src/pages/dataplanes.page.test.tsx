import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dataplane } from '../api/dataplanes.api';
import { jsonResponse, renderWithProviders, stubFetch } from '../test-render';
import { DataplanesPage } from './dataplanes.page';

const row = (
  id: string,
  traffic: Dataplane['traffic'],
  requestEvents: Dataplane['request_events'] = null,
): Dataplane => ({
  id,
  hostname: 'edge-1',
  version: '0.1.0',
  applied_revision: 1,
  lag: 0,
  last_error: null,
  traffic,
  request_events: requestEvents,
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
    // dp-old's address, and neither row's request events (both reported none).
    expect(screen.getAllByText('not reported')).toHaveLength(3);
  });

  it("says whether each data plane's request events are delivered, waiting in it, or lost", async () => {
    const counters = { buffered: 0, dropped: 0, spilled: 0, send_failures: 0, deferred_sends: 0, queued_batches: 1 };
    const { fetchStub } = stubFetch(() =>
      jsonResponse(200, {
        dataplanes: [
          row('dp-ok', null, counters),
          row('dp-full', null, {
            ...counters,
            buffered: 4_000,
            spilled: 1_500,
            deferred_sends: 12,
            queued_batches: 1_000,
          }),
          row('dp-lost', null, { ...counters, buffered: 50_000, dropped: 7 }),
          row('dp-embedded', null),
        ],
        next_page_uri: null,
      }),
    );
    vi.stubGlobal('fetch', fetchStub);
    renderWithProviders(<DataplanesPage />);
    const cells = await screen.findAllByTestId('dataplane-request-events');
    expect(cells.map((cell) => cell.textContent)).toEqual([
      'delivering1 batch queued',
      '4,000 waiting1,000 batches queued1,500 spilled to disk',
      '7 dropped1 batch queued',
      'not reported',
    ]);
  });
});

import { screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EndpointsListPage } from '../pages/endpoints-list.page';
import { jsonResponse, renderRoutes, signedInEditor, stubFetch } from '../test-render';
import { SessionGate } from './session-gate';

const routes = [
  { path: '/sign-in', element: <p>sign-in page</p> },
  { path: '/setup', element: <p>setup page</p> },
  {
    element: <SessionGate />,
    children: [
      { path: '/endpoints', element: <EndpointsListPage /> },
      { path: '/secret', element: <p>inside the gate</p> },
    ],
  },
];

afterEach(() => vi.unstubAllGlobals());

describe('SessionGate', () => {
  it('lets a signed-in user through', async () => {
    renderRoutes(routes, '/secret');
    expect(await screen.findByText('inside the gate')).toBeTruthy();
  });

  it('sends a visitor to sign-in and remembers where they were going', async () => {
    const { router } = renderRoutes(routes, '/secret?tab=2', null);
    expect(await screen.findByText('sign-in page')).toBeTruthy();
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent('/secret?tab=2')}`);
  });

  it('sends everyone to first-run setup while no user exists', async () => {
    renderRoutes(routes, '/secret', null, { setupRequired: true });
    expect(await screen.findByText('setup page')).toBeTruthy();
  });

  it('returns to sign-in when the session ends while a page is open', async () => {
    const { fetchStub } = stubFetch(() =>
      jsonResponse(401, { error_code: 'UNAUTHENTICATED', message: 'Sign in first', details: [] }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const { router } = renderRoutes(routes, '/endpoints', signedInEditor);
    await waitFor(() => expect(router.state.location.pathname).toBe('/sign-in'));
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent('/endpoints')}`);
  });
});

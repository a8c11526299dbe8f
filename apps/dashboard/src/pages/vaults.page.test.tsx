import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Vault } from '../api/vaults.api';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, signedInEditor, stubFetch } from '../test-render';
import { VaultsPage } from './vaults.page';

const vault: Vault = {
  name: 'auth',
  uri: '/api/vaults/auth',
  description: 'login passwords',
  created_by: 'editor@example.com',
  created_at: '2026-12-06T01:00:00Z',
  updated_at: '2026-12-06T01:00:00Z',
  secrets: [
    {
      vault: 'auth',
      name: 'alice',
      uri: '/api/vaults/auth/secrets/alice',
      description: 'alice',
      key_id: 'k-0123456789ab',
      created_by: 'editor@example.com',
      updated_by: 'editor@example.com',
      created_at: '2026-12-06T01:00:00Z',
      updated_at: '2026-12-06T01:00:00Z',
    },
  ],
};

function renderPage(actor = signedInEditor) {
  return renderRoutes(
    [{ element: <SessionGate />, children: [{ path: '/vaults', element: <VaultsPage /> }] }],
    '/vaults',
    actor,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('Vaults page', () => {
  it('lists secret names with the policy call to paste, and rotates one through a write-only field', async () => {
    const { fetchStub, requests } = stubFetch((request) =>
      request.method === 'PUT'
        ? jsonResponse(200, vault.secrets[0])
        : jsonResponse(200, { vaults: [vault], next_page_uri: null }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    expect(await screen.findByText("secrets.get('auth', 'alice')")).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Rotate' }));
    await user.type(screen.getByLabelText(/^Value/), 'new-value-123');
    await user.click(screen.getByRole('button', { name: 'Rotate secret' }));
    await waitFor(() => expect(requests.filter((request) => request.method === 'PUT')).toHaveLength(1));
    const put = requests.find((request) => request.method === 'PUT')!;
    expect(new URL(put.url).pathname).toBe('/api/vaults/auth/secrets/alice');
    expect(await put.json()).toEqual({ value: 'new-value-123', description: '' });
  });

  it('explains a refused delete with the endpoints the API names', async () => {
    const { fetchStub } = stubFetch((request) =>
      request.method === 'DELETE'
        ? jsonResponse(409, {
            error_code: 'SECRET_IN_USE',
            message:
              'Secret auth/alice is used by the active policy of 1 endpoint (https://svc.internal); change those policies first',
            details: [],
          })
        : jsonResponse(200, { vaults: [vault], next_page_uri: null }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog');
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    expect((await screen.findByTestId('vault-delete-refused')).textContent).toContain('https://svc.internal');
  });

  it('lets viewers read names without write buttons', async () => {
    vi.stubGlobal('fetch', stubFetch(() => jsonResponse(200, { vaults: [vault], next_page_uri: null })).fetchStub);
    renderPage({ ...signedInEditor, role: 'viewer' });
    expect(await screen.findByText("secrets.get('auth', 'alice')")).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'New vault' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Rotate' })).toBeNull();
  });
});
